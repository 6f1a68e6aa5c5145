"""A crash while a checkpoint is written, with mmengine's CheckpointHook and
with AtomicCheckpointHook (a small model on an in-process runner)."""

import pytest
import torch
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from aeplugin.engine import (
    AtomicCheckpointHook,
    checkpoint_problem,
    find_resumable_checkpoint,
)


class _Linear(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


class _Crash(Exception):
    pass


def _train_until_crash(work_dir, hook, monkeypatch):
    """Train 3 epochs (one checkpoint each, at most one kept); the write of
    the epoch-2 checkpoint dies half-way."""
    put = LocalBackend.put

    def crashing_put(self, obj, filepath):
        if 'epoch_2' in str(filepath):
            with open(filepath, 'wb') as f:
                f.write(obj[: len(obj) // 2])
            raise _Crash
        put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', crashing_put)
    runner = Runner(
        model=_Linear(),
        work_dir=str(work_dir),
        experiment_name=f'atomic-{work_dir.name}',
        train_dataloader=dict(
            dataset=[dict(inputs=torch.ones(2) * i) for i in range(4)],
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0,
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        default_hooks=dict(checkpoint=hook),
    )
    with pytest.raises(_Crash):
        runner.train()
    return (work_dir / 'last_checkpoint').read_text()


def test_mmengine_hook_loses_the_checkpoint_to_resume_from(
    tmp_path, monkeypatch
):
    work_dir = tmp_path / 'mmengine'
    hook = CheckpointHook(interval=1, max_keep_ckpts=1)
    last = _train_until_crash(work_dir, hook, monkeypatch)
    # the kept epoch-1 checkpoint was deleted before epoch 2 was written
    assert last == str(work_dir / 'epoch_1.pth')
    assert checkpoint_problem(last) == 'does not exist'
    assert 'truncated' in checkpoint_problem(str(work_dir / 'epoch_2.pth'))
    with pytest.raises(ValueError, match='no complete checkpoint'):
        find_resumable_checkpoint(str(work_dir))


def test_atomic_hook_keeps_a_complete_checkpoint(tmp_path, monkeypatch):
    work_dir = tmp_path / 'atomic'
    hook = AtomicCheckpointHook(interval=1, max_keep_ckpts=1)
    last = _train_until_crash(work_dir, hook, monkeypatch)
    assert last == str(work_dir / 'epoch_1.pth')
    assert checkpoint_problem(last) is None
    assert not (work_dir / 'epoch_2.pth').exists()
    assert (work_dir / 'epoch_2.pth.partial').exists()
    assert find_resumable_checkpoint(str(work_dir)) == last
    ckpt = torch.load(last, weights_only=False)
    assert ckpt['meta']['epoch'] == 1
    assert ckpt['message_hub']['runtime_info']['keep_ckpt_ids'] == [1]
