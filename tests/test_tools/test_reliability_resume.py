"""Faults during training on the tiny config (CPU): kill -9 at an iteration
and while a checkpoint is written, a full disk, then ``--resume``; NaN
losses.

The runs are deterministic (``randomness.deterministic=True``, fixed seed,
``num_workers=0``: see ``EpochSeedHook`` for workers) and keep the random
flip on, so that equal weights also show that the augmentation draws were
replayed.
"""

import os
import random
import signal
import subprocess
import sys

import pytest

import aeplugin  # noqa: F401  (lets torch.load read runner checkpoints)

from .distributed_runs import (
    CONFIG,
    INJECT,
    MODEL,
    ROOT,
    assert_same_weights,
    weights,
)

# 2 images, batch 1: 2 iterations per epoch
FAST = [
    *MODEL,
    'train_dataloader.dataset.indices=2',
    'train_dataloader.batch_size=1',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'default_hooks.checkpoint.interval=1',
    # mmengine deletes the kept checkpoint before writing the next one
    'default_hooks.checkpoint.max_keep_ckpts=1',
    'default_hooks.logger.interval=1',
    'randomness.seed=0',
    'randomness.deterministic=True',
]


def start(work_dir, epochs, *extra, options=(), **faults):
    """Start tools/train.py through the fault injector (one thread, so that
    two runs overlap on two cores and every run computes alike)."""
    return subprocess.Popen(
        [
            sys.executable,
            INJECT,
            'tools/train.py',
            CONFIG,
            '--work-dir',
            str(work_dir),
            '--no-validate',
            *extra,
            '--cfg-options',
            f'train_cfg.max_epochs={epochs}',
            *FAST,
            *options,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, 'OMP_NUM_THREADS': '1', **faults},
    )


def finish(process, expect_rc=0):
    """Wait for a run; returns its log."""
    log, _ = process.communicate(timeout=300)
    assert process.returncode == expect_rc, log[-3000:]
    return log


def train(work_dir, epochs, *extra, expect_rc=0, **faults):
    return finish(start(work_dir, epochs, *extra, **faults), expect_rc)


@pytest.mark.slow
def test_kill_disk_full_nan_kill_then_resume_ends_as_uninterrupted(tmp_path):
    """One run killed while writing a checkpoint, stopped by a full disk
    while writing one, by a NaN loss and killed at a random iteration,
    resumed after each: it ends with the weights of a run that was never
    interrupted."""
    run, uninterrupted = tmp_path / 'faults', tmp_path / 'uninterrupted'
    reference = start(uninterrupted, 3)

    # killed half-way through writing the epoch-2 checkpoint (iteration 4)
    train(run, 3, expect_rc=-signal.SIGKILL, AE_KILL_WRITING='epoch_2.pth')
    assert (run / 'epoch_2.pth.partial').exists()
    assert not (run / 'epoch_2.pth').exists()
    # max_keep_ckpts=1: the kept checkpoint is deleted only after the new
    # one is complete (mmengine deletes it first)
    assert (run / 'last_checkpoint').read_text() == str(run / 'epoch_1.pth')

    # resumed from epoch 1; the disk is full while epoch 2 is written
    # (OSError(ENOSPC) from write, which names no file)
    log = train(run, 3, '--resume', expect_rc=1, AE_FAIL_WRITING='epoch_2')
    assert 'resumed epoch: 1, iter: 2' in log
    assert (
        f'OSError: [Errno 28] could not write the checkpoint '
        f'{run}/epoch_2.pth: No space left on device. The run stops here; '
        f'{run}/epoch_1.pth is the last complete checkpoint'
    ) in log
    assert sorted(p.name for p in run.glob('*.pth*')) == ['epoch_1.pth']
    assert (run / 'last_checkpoint').read_text() == str(run / 'epoch_1.pth')

    # resumed from epoch 1; loss_pull is NaN at iteration 4 (0-based 3,
    # the second of epoch 2): stopped before the weights saw it
    log = train(
        run,
        3,
        '--resume',
        expect_rc=1,
        AE_NONFINITE_AT_ITER='3:loss_pull:nan',
    )
    assert 'resumed epoch: 1, iter: 2' in log
    assert 'FloatingPointError: non-finite loss at training iteration 4 ' in (
        log
    )
    assert '(epoch 2): loss_pull=nan' in log
    assert not (run / 'epoch_2.pth.partial').exists()
    assert sorted(p.name for p in run.glob('*.pth*')) == ['epoch_1.pth']

    # resumed from epoch 1 again, killed at a random iteration of 2..5
    kill_at = random.choice([3, 4, 5])
    log = train(
        run,
        3,
        '--resume',
        expect_rc=-signal.SIGKILL,
        AE_KILL_AT_ITER=str(kill_at),
    )
    assert 'resumed epoch: 1, iter: 2' in log, f'kill_at={kill_at}'

    log = train(run, 3, '--resume')
    resumed_from = 1 if kill_at < 4 else 2
    assert f'resumed epoch: {resumed_from}' in log, f'kill_at={kill_at}'
    finish(reference)
    assert_same_weights(
        weights(run / 'epoch_3.pth'), weights(uninterrupted / 'epoch_3.pth')
    )
    assert sorted(p.name for p in run.glob('*.pth*')) == ['epoch_3.pth']
