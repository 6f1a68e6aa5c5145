"""Random state that depends on the epoch and the rank only, so that
resuming replays and every rank draws its own augmentation."""

import os
import random
from functools import partial

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from aeplugin.registry import HOOKS


def _derive_seed(*entropy: int) -> int:
    return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0])


def epoch_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """A 32-bit seed for ``epoch`` of a run seeded with ``seed``, on the
    process of ``rank``."""
    return _derive_seed(seed, epoch, rank)


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's generators with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def seed_worker(worker_id: int, seed: int) -> None:
    """A data loader's ``worker_init_fn``: seed worker ``worker_id`` from
    its process's epoch seed ``seed``."""
    seed_everything(_derive_seed(seed, worker_id))


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Seed python's, numpy's and torch's generators at the start of every
    training epoch from ``(runner.seed, epoch, rank)``.

    mmengine seeds once, when the runner is built, so the augmentation draws
    of epoch e depend on every draw before it: a run resumed from the
    checkpoint of epoch e - 1 starts from a fresh seed and augments
    differently from a run that was never stopped (and so does one that
    validated in between, which draws a data loader seed). Reseeding per
    epoch makes each epoch's randomness a function of the seed, the epoch
    and the rank alone; with ``randomness=dict(seed=..., deterministic=
    True)`` a killed and resumed run ends with the weights of an
    uninterrupted one. The rank keeps the processes of a distributed run
    from drawing the same random affine and flip for their different
    images (with ``num_workers=0`` they augment in the main process).

    Data loader workers: mmengine's ``worker_init_fn`` seeds each worker
    from ``(seed, rank, worker id)`` when it starts, so workers differ from
    one another, but workers that are not persistent start again every
    epoch with the same seeds and would repeat their draws: for those, the
    hook seeds worker w from ``(epoch seed, w)`` instead. Persistent workers
    keep their streams across epochs (a resumed run restarts them from
    mmengine's seeds), so the replay holds with ``num_workers=0`` or
    ``persistent_workers=False``.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        # In deterministic mode (``randomness.deterministic=True``, which
        # mmengine applies when it builds the runner) torch raises at the
        # first cuBLAS matmul on a GPU unless cuBLAS has a fixed workspace;
        # torch reads this variable then, after this hook.
        if torch.are_deterministic_algorithms_enabled():
            os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')

    def before_train_epoch(self, runner) -> None:
        seed = epoch_seed(runner.seed, runner.epoch, get_rank())
        seed_everything(seed)
        loader = runner.train_dataloader
        if loader.num_workers > 0 and not loader.persistent_workers:
            loader.worker_init_fn = partial(seed_worker, seed=seed)
