import random
from types import SimpleNamespace

import numpy as np
import torch

from aeplugin.engine import EpochSeedHook
from aeplugin.engine.hooks.epoch_seed_hook import epoch_seed


def _draws(seed, epoch):
    EpochSeedHook().before_train_epoch(SimpleNamespace(seed=seed, epoch=epoch))
    return random.random(), np.random.rand(), torch.rand(()).item()


def test_draws_depend_on_seed_and_epoch_only():
    first = _draws(0, 3)
    # whatever was drawn before (another epoch, a validation) is forgotten
    np.random.rand(100)
    _draws(0, 2)
    assert _draws(0, 3) == first
    assert _draws(0, 4) != first
    assert _draws(1, 3) != first
    assert epoch_seed(0, 3) != epoch_seed(3, 0)
