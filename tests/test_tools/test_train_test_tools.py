"""The training and evaluation tools end to end on the tiny config (CPU)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import aeplugin  # noqa: F401  (lets torch.load read runner checkpoints)

ROOT = Path(__file__).parents[2]
CONFIG = 'configs/ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py'
# a few images, one small stack, no workers: seconds per run
FAST = [
    'model.backbone.num_stacks=1',
    'model.backbone.feat_channels=16',
    'model.backbone.increase=8',
    'train_dataloader.dataset.indices=4',
    'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'default_hooks.checkpoint.interval=1',
    'default_hooks.logger.interval=1',
]
FAST_VAL = [
    'val_dataloader.dataset.indices=2',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
]


def _run(args, **env):
    result = subprocess.run(
        args,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:]
    )
    return result.stdout + result.stderr


def _train(work_dir, epochs, *extra):
    return _run(
        [
            sys.executable,
            'tools/train.py',
            CONFIG,
            '--work-dir',
            str(work_dir),
            *extra,
            '--cfg-options',
            f'train_cfg.max_epochs={epochs}',
            'train_cfg.val_interval=100',
            *FAST,
            *FAST_VAL,
        ]
    )


@pytest.mark.slow
def test_train_resume_and_test(tmp_path):
    _train(tmp_path, 1)
    first = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    assert first['meta']['iter'] == 2

    log = _train(tmp_path, 2, '--resume')
    assert 'resumed epoch: 1, iter: 2' in log
    second = torch.load(tmp_path / 'epoch_2.pth', weights_only=True)
    assert second['meta']['epoch'] == 2 and second['meta']['iter'] == 4
    # the resumed run continued the message hub of the first
    hub = second['message_hub']['log_scalars']['train/loss']
    assert len(hub.data[0]) == 4

    out = _run(
        [
            sys.executable,
            'tools/test.py',
            CONFIG,
            str(tmp_path / 'epoch_2.pth'),
            '--work-dir',
            str(tmp_path / 'test'),
            '--cfg-options',
            *FAST,
            *FAST_VAL,
        ]
    )
    assert re.search(r'coco/AP: [0-9.]+', out), out[-2000:]


@pytest.mark.slow
def test_dist_train_two_cpu_processes(tmp_path):
    out = _run(
        [
            'bash',
            'tools/dist_train.sh',
            CONFIG,
            '2',
            '--work-dir',
            str(tmp_path),
            '--no-validate',
            '--cfg-options',
            'train_cfg.max_epochs=2',
            *FAST,
        ],
        PYTHON=sys.executable,
        PORT=str(29500 + os.getpid() % 1000),
    )
    assert 'Distributed training: True' in out
    # 4 images over 2 processes x 2 images is one iteration per epoch (one
    # process would take two)
    ckpt = torch.load(tmp_path / 'epoch_2.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 2
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == [
        'epoch_1.pth',
        'epoch_2.pth',
    ]


@pytest.mark.parametrize(
    'flag', ['--amp', '--auto-scale-lr', '--fp32', '--compile']
)
def test_train_flags_reach_the_config(flag):
    from mmengine.config import Config

    sys.path.insert(0, str(ROOT / 'tools'))
    try:
        import train
    finally:
        sys.path.pop(0)
    args = train.parse_args([CONFIG, flag])
    cfg = train.merge_args(Config.fromfile(ROOT / CONFIG), args)
    if flag == '--amp':
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    elif flag == '--auto-scale-lr':
        assert cfg.auto_scale_lr.enable is True
    elif flag == '--fp32':
        assert cfg.optim_wrapper.type == 'OptimWrapper'
        assert cfg.model.data_preprocessor.channels_last is False
        assert cfg.default_hooks.channels_last.enabled is False
    else:
        assert cfg.default_hooks.compile_backbone.type == (
            'CompileBackboneHook'
        )
    # bfloat16 and channels-last on a GPU unless --fp32 or --amp
    defaults = train.merge_args(
        Config.fromfile(ROOT / CONFIG), train.parse_args([CONFIG])
    )
    assert defaults.optim_wrapper.type == 'BF16OptimWrapper'
    assert defaults.default_hooks.channels_last.type == 'ChannelsLastHook'


@pytest.mark.slow
def test_compile_flag_trains_the_tiny_config(tmp_path):
    """--compile compiles the backbone with torch.compile's default
    backend (inductor, C++ on the CPU) and trains on: same parameter names
    in the checkpoint, finite losses."""
    log = _train(tmp_path, 1, '--compile')
    assert 'Epoch(train) [1][2/2]' in log
    losses = [float(v) for v in re.findall(r' loss: ([0-9.e+-]+)', log)]
    assert len(losses) == 2 and all(v == v and v < 1e3 for v in losses)
    ckpt = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    names = list(ckpt['state_dict'])
    assert any(k.startswith('backbone.') for k in names)
    assert not any('_orig_mod' in k for k in names)
