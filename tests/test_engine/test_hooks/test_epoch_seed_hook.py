import os
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from aeplugin.engine import EpochSeedHook
from aeplugin.engine.hooks import epoch_seed_hook
from aeplugin.engine.hooks.epoch_seed_hook import epoch_seed


def _loader(num_workers=0, persistent_workers=False):
    return SimpleNamespace(
        num_workers=num_workers,
        persistent_workers=persistent_workers,
        worker_init_fn=None,
    )


def _draw():
    return random.random(), np.random.rand(), torch.rand(()).item()


def _draws(seed, epoch, loader=None):
    runner = SimpleNamespace(
        seed=seed, epoch=epoch, train_dataloader=loader or _loader()
    )
    EpochSeedHook().before_train_epoch(runner)
    return _draw()


def test_draws_depend_on_seed_and_epoch_only():
    first = _draws(0, 3)
    # whatever was drawn before (another epoch, a validation) is forgotten
    np.random.rand(100)
    _draws(0, 2)
    assert _draws(0, 3) == first
    assert _draws(0, 4) != first
    assert _draws(1, 3) != first
    assert epoch_seed(0, 3) != epoch_seed(3, 0)


@pytest.fixture
def rank(monkeypatch):
    """Sets the rank the hook sees."""

    def set_rank(value):
        # raising=False: today's hook reads no rank, and then draws alike
        monkeypatch.setattr(
            epoch_seed_hook, 'get_rank', lambda: value, raising=False
        )

    return set_rank


def test_each_rank_draws_its_own_augmentation(rank):
    rank(0)
    on_rank_0 = _draws(0, 3)
    rank(1)
    on_rank_1 = _draws(0, 3)
    # each of python's, numpy's and torch's draws differs between ranks
    assert all(a != b for a, b in zip(on_rank_0, on_rank_1))
    # and a resumed rank 1 replays its own epoch
    np.random.rand(100)
    assert _draws(0, 3) == on_rank_1


def _worker_draws(loader, worker_id):
    loader.worker_init_fn(worker_id)
    return _draw()


def test_workers_that_restart_every_epoch_draw_anew(rank):
    rank(0)
    loader = _loader(num_workers=2)
    _draws(0, 3, loader)
    epoch_3 = [_worker_draws(loader, w) for w in range(2)]
    _draws(0, 4, loader)
    epoch_4 = [_worker_draws(loader, w) for w in range(2)]
    rank(1)
    _draws(0, 3, loader)
    rank_1 = [_worker_draws(loader, w) for w in range(2)]
    draws = epoch_3 + epoch_4 + rank_1
    assert len(set(draws)) == len(draws)
    rank(0)
    _draws(0, 3, loader)  # a resumed epoch 3
    assert [_worker_draws(loader, w) for w in range(2)] == epoch_3
    # persistent workers keep the streams mmengine seeded them with
    persistent = _loader(num_workers=2, persistent_workers=True)
    _draws(0, 3, persistent)
    assert persistent.worker_init_fn is None


@pytest.mark.parametrize('deterministic', [True, False])
def test_deterministic_runs_give_cublas_a_fixed_workspace(
    deterministic, monkeypatch
):
    # torch's deterministic mode raises at the first cuBLAS matmul on a GPU
    # without this variable (read then, after the hook's before_run)
    monkeypatch.delenv('CUBLAS_WORKSPACE_CONFIG', raising=False)
    enabled = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(deterministic)
    try:
        EpochSeedHook().before_run(runner=None)
    finally:
        torch.use_deterministic_algorithms(enabled)
    expected = ':4096:8' if deterministic else None
    assert os.environ.get('CUBLAS_WORKSPACE_CONFIG') == expected
