"""Checkpoints that a kill cannot leave half-written."""

import contextlib
import glob
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from aeplugin.registry import HOOKS

PARTIAL_SUFFIX = '.partial'


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename, so
    that ``path`` holds either its old or its new content, never a part."""
    partial = path + PARTIAL_SUFFIX
    with open(partial, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` with crash-safe writes.

    mmengine 0.10.7 writes ``epoch_N.pth`` in place (``open(path, 'wb')``),
    deletes the oldest kept checkpoint *before* writing the new one and then
    overwrites ``last_checkpoint`` in place. A kill during the write leaves a
    truncated ``epoch_N.pth``; with ``max_keep_ckpts=1`` it has already
    deleted the checkpoint that ``last_checkpoint`` names, so
    ``--resume`` has nothing to resume from. This hook writes every
    checkpoint to ``epoch_N.pth.partial``, flushes it to disk, renames it
    into place, then updates ``last_checkpoint`` the same way, and only then
    deletes the checkpoints that ``max_keep_ckpts`` lets go: at every
    instant ``last_checkpoint`` names a complete file. Leftover ``.partial``
    files of a killed run are removed when training starts. A write that
    fails (a full disk, an I/O error) removes its ``.partial`` files and
    stops the run with an ``OSError`` naming the file and the checkpoint
    that ``--resume`` continues from, which is left as it was.

    Takes the arguments of ``CheckpointHook``. On storage other than the
    local file system (no atomic rename) it behaves as ``CheckpointHook``.
    ``save_best`` checkpoints are written as mmengine writes them (they are
    not what ``--resume`` reads).
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if is_main_process() and isinstance(self.file_backend, LocalBackend):
            pattern = osp.join(glob.escape(self.out_dir), '*' + PARTIAL_SUFFIX)
            for leftover in glob.glob(pattern):
                os.remove(leftover)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        if not isinstance(self.file_backend, LocalBackend):
            super()._save_checkpoint_with_step(runner, step, meta)
            return

        expired = []
        if self.max_keep_ckpts > 0 and not (
            self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step
        ):
            while len(self.keep_ckpt_ids) >= self.max_keep_ckpts:
                expired.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info(
                'keep_ckpt_ids', list(self.keep_ckpt_ids)
            )

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, ckpt_filename)
        # saved inside the checkpoint: a resumed run keeps the same list
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        partial = self.last_ckpt + PARTIAL_SUFFIX
        last_checkpoint = osp.join(runner.work_dir, 'last_checkpoint')
        writing = f'the checkpoint {self.last_ckpt}'
        try:
            runner.save_checkpoint(
                self.out_dir,
                ckpt_filename + PARTIAL_SUFFIX,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args,
            )
            if not is_main_process():
                return
            with open(partial, 'rb+') as f:
                os.fsync(f.fileno())
            os.replace(partial, self.last_ckpt)
            writing = f'{last_checkpoint} (naming {self.last_ckpt})'
            write_atomically(last_checkpoint, self.last_ckpt.encode())
        except OSError as error:
            for leftover in (partial, last_checkpoint + PARTIAL_SUFFIX):
                with contextlib.suppress(OSError):
                    os.remove(leftover)
            raise _write_error(error, writing, last_checkpoint) from error
        for old_step in expired:
            old = osp.join(self.out_dir, self.filename_tmpl.format(old_step))
            if osp.isfile(old):
                os.remove(old)


def _write_error(error: OSError, writing: str, last_checkpoint: str):
    """The error of a failed checkpoint write (a full disk, an I/O error)
    naming what was being written and the checkpoint that ``--resume``
    takes. A full disk raises ``OSError(ENOSPC)`` from ``write``, without a
    file name."""
    try:
        with open(last_checkpoint) as f:
            kept = (
                f'{f.read()} is the last complete checkpoint: free space '
                'or fix the disk, then run with --resume to continue from it'
            )
    except OSError:
        kept = 'no checkpoint was saved before'
    return OSError(
        error.errno,
        f'could not write {writing}: {error.strerror or error}. The run '
        f'stops here; {kept}',
    )
