"""Run a tool script with faults injected, for the reliability tests.

Usage: python fault_injection.py SCRIPT [ARGS...], or put the folder
``inject_site`` first on ``PYTHONPATH`` to inject into every process a
launcher starts (torchrun's or srun's workers), with any of
- ``AE_KILL_AT_ITER=N``: SIGKILL the process when training iteration N
  (0-based, counted over the whole run) is about to start; it first prints
  ``fault_injection: SIGKILL at <time.time()>``;
- ``AE_KILL_WRITING=NAME``: when a file whose name contains NAME is being
  written through mmengine's file backend, write half of it and SIGKILL;
- ``AE_FAIL_WRITING=NAME``: write half of it and raise
  ``OSError(ENOSPC)``, as a full disk does (without a file name);
- ``AE_NONFINITE_AT_ITER=N:TERM:VALUE``: make the head's loss term TERM
  equal VALUE (``nan`` or ``inf``) at training iteration N;
- ``AE_FAULT_RANK=R``: only in the process of rank R (``RANK``, or
  ``SLURM_PROCID`` before the launcher sets it).
"""

import errno
import os
import runpy
import signal
import sys
import time


def _kill():
    print(f'fault_injection: SIGKILL at {time.time()}', flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def _patch_put(name, fault):
    """Make mmengine's local file backend write half of any file whose name
    contains ``name``, then call ``fault``."""
    from mmengine.fileio.backends import LocalBackend

    put = LocalBackend.put

    def faulty_put(self, obj, filepath):
        if name in os.path.basename(str(filepath)):
            with open(filepath, 'wb') as f:
                f.write(obj[: len(obj) // 2])
            fault()
        return put(self, obj, filepath)

    LocalBackend.put = faulty_put


def _disk_full():
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def install():
    rank = os.environ.get('AE_FAULT_RANK')
    own_rank = os.environ.get('RANK', os.environ.get('SLURM_PROCID'))
    if rank is not None and rank != own_rank:
        return

    kill_at = os.environ.get('AE_KILL_AT_ITER')
    if kill_at is not None:
        from mmengine.runner.loops import EpochBasedTrainLoop

        run_iter = EpochBasedTrainLoop.run_iter

        def killing_run_iter(self, idx, data_batch):
            if self._iter == int(kill_at):
                _kill()
            return run_iter(self, idx, data_batch)

        EpochBasedTrainLoop.run_iter = killing_run_iter

    if os.environ.get('AE_KILL_WRITING') is not None:
        _patch_put(os.environ['AE_KILL_WRITING'], _kill)
    if os.environ.get('AE_FAIL_WRITING') is not None:
        _patch_put(os.environ['AE_FAIL_WRITING'], _disk_full)

    nonfinite = os.environ.get('AE_NONFINITE_AT_ITER')
    if nonfinite is not None:
        from mmengine.logging import MessageHub

        from aeplugin.models.heads.ae_head import AssociativeEmbeddingHead

        at, term, value = nonfinite.split(':')
        loss = AssociativeEmbeddingHead.loss

        def nonfinite_loss(self, *args, **kwargs):
            losses = loss(self, *args, **kwargs)
            if MessageHub.get_current_instance().get_info('iter') == int(at):
                losses[term] = losses[term] + float(value)
            return losses

        AssociativeEmbeddingHead.loss = nonfinite_loss


if __name__ == '__main__':
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    install()
    runpy.run_path(script, run_name='__main__')
