"""Checkpoints that a kill cannot leave half-written."""

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
    files of a killed run are removed when training starts.

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

        partial = self.last_ckpt + PARTIAL_SUFFIX
        with open(partial, 'rb+') as f:
            os.fsync(f.fileno())
        os.replace(partial, self.last_ckpt)
        write_atomically(
            osp.join(runner.work_dir, 'last_checkpoint'),
            self.last_ckpt.encode(),
        )
        for old_step in expired:
            old = osp.join(self.out_dir, self.filename_tmpl.format(old_step))
            if osp.isfile(old):
                os.remove(old)
