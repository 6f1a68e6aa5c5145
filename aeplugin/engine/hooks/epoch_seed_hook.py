"""Random state that depends on the epoch only, so that resuming replays."""

import random

import numpy as np
import torch
from mmengine.hooks import Hook

from aeplugin.registry import HOOKS


def epoch_seed(seed: int, epoch: int) -> int:
    """A 32-bit seed for ``epoch`` of a run seeded with ``seed``."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed python's, numpy's and torch's generators at the start of every
    training epoch from ``(runner.seed, epoch)``.

    mmengine seeds once, when the runner is built, so the augmentation draws
    of epoch e depend on every draw before it: a run resumed from the
    checkpoint of epoch e - 1 starts from a fresh seed and augments
    differently from a run that was never stopped (and so does one that
    validated in between, which draws a data loader seed). Reseeding per
    epoch makes each epoch's randomness a function of the seed and the
    epoch alone; with ``randomness=dict(seed=..., deterministic=True)`` a
    killed and resumed run ends with the weights of an uninterrupted one.

    Data loader workers: torch seeds each worker from the main process's
    generator when the workers start (and mmengine's ``worker_init_fn`` from
    the seed and the worker id), so the replay holds with ``num_workers=0``
    or ``persistent_workers=False``; persistent workers keep their streams
    across epochs and a resumed run restarts them.
    """

    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        seed = epoch_seed(runner.seed, runner.epoch)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
