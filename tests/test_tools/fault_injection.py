"""Run a tool script with faults injected, for the reliability tests.

Usage: python fault_injection.py SCRIPT [ARGS...], with any of
- ``AE_KILL_AT_ITER=N``: SIGKILL the process when training iteration N
  (0-based, counted over the whole run) is about to start;
- ``AE_KILL_WRITING=NAME``: when a file whose name contains NAME is being
  written through mmengine's file backend, write half of it and SIGKILL;
- ``AE_NONFINITE_AT_ITER=N:TERM:VALUE``: make the head's loss term TERM
  equal VALUE (``nan`` or ``inf``) at training iteration N.
"""

import os
import runpy
import signal
import sys


def _kill():
    os.kill(os.getpid(), signal.SIGKILL)


def _install():
    kill_at = os.environ.get('AE_KILL_AT_ITER')
    if kill_at is not None:
        from mmengine.runner.loops import EpochBasedTrainLoop

        run_iter = EpochBasedTrainLoop.run_iter

        def killing_run_iter(self, idx, data_batch):
            if self._iter == int(kill_at):
                _kill()
            return run_iter(self, idx, data_batch)

        EpochBasedTrainLoop.run_iter = killing_run_iter

    kill_writing = os.environ.get('AE_KILL_WRITING')
    if kill_writing is not None:
        from mmengine.fileio.backends import LocalBackend

        put = LocalBackend.put

        def killing_put(self, obj, filepath):
            if kill_writing in os.path.basename(str(filepath)):
                with open(filepath, 'wb') as f:
                    f.write(obj[: len(obj) // 2])
                _kill()
            return put(self, obj, filepath)

        LocalBackend.put = killing_put

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
    _install()
    runpy.run_path(script, run_name='__main__')
