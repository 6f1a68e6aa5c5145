"""Every shipped config loads, builds in the aeplugin scope and runs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from aeplugin.registry import MODELS

ROOT = Path(__file__).parents[2]
CONFIGS = sorted((ROOT / 'configs').glob('*.py'))


@pytest.mark.parametrize('path', CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_builds_and_predicts_shapes(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'aeplugin'
    assert 'aeplugin' in cfg.custom_imports['imports']
    model_cfg = cfg.model
    # no download in tests: weights are random
    model_cfg.backbone.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('aeplugin'):
        model = MODELS.build(model_cfg)
    model.eval()
    size = 128
    with torch.no_grad():
        heatmaps, tags = model.head.forward(
            model.extract_feat(torch.rand(1, 3, size, size))
        )
    codec = cfg.codec
    stride = codec['input_size'][0] // codec['heatmap_size'][0]
    if codec['type'] == 'HigherBottomupGrouping':
        stride //= 2  # HigherHRNet returns its maps aggregated at 1/2
    K = cfg.model.head.num_keypoints
    assert heatmaps.shape == (1, K, size // stride, size // stride)
    assert tags.shape == heatmaps.shape


def _train(config, work_dir, *args):
    """Run ``tools/train.py configs/CONFIG --work-dir WORK_DIR ARGS``, check
    that it succeeded and return its log."""
    out = subprocess.run(
        [
            sys.executable,
            'tools/train.py',
            f'configs/{config}',
            '--work-dir',
            str(work_dir),
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ},
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    return log


@pytest.mark.slow
def test_paper_config_trains_two_iterations_on_cpu(tmp_path):
    log = _train(
        'ae_hourglass-4stack_8xb6-300e_coco-512x512.py',
        tmp_path,
        '--no-validate',
        '--cfg-options',
        'train_dataloader.batch_size=1',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_dataloader.dataset.data_root=data/coco-mini/',
        'train_dataloader.dataset.indices=2',
        'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1',
    )
    assert 'Epoch(train) [1][2/2]' in log
    assert (tmp_path / 'epoch_1.pth').exists()


@pytest.mark.slow
def test_mpii_config_builds_trains_and_validates_on_cpu(tmp_path):
    """The MPII config: the paper's network with 16 joints, then 2 training
    iterations and a validation with MpiiMultiPersonMetric on the MPII
    images of tests/data/mpii (batch 1). Two iterations of the 4-stack at
    512 took 49 s on 2 CPU cores (70 s with start-up), so the run trains a
    1-stack hourglass on the same data, pipeline, loss and metric."""
    cfg = Config.fromfile(
        ROOT / 'configs' / 'ae_hourglass-4stack_8xb6-300e_mpii-512x512.py'
    )
    assert cfg.model.backbone.num_stacks == 4
    with DefaultScope.overwrite_default_scope('aeplugin'):
        model = MODELS.build(cfg.model)
    model.eval()
    with torch.no_grad():
        heatmaps, tags = model.head.forward(
            model.extract_feat(torch.rand(1, 3, 128, 128))
        )
    assert heatmaps.shape == tags.shape == (1, 16, 32, 32)

    data = [
        'dataset.data_root=tests/data/mpii/',
        'dataset.ann_file=test_mpii.json',
        'dataset.data_prefix.img=',
        'num_workers=0',
        'persistent_workers=False',
    ]
    log = _train(
        'ae_hourglass-4stack_8xb6-300e_mpii-512x512.py',
        tmp_path,
        '--cfg-options',
        'model.backbone.num_stacks=1',
        'model.backbone.feat_channels=64',
        'model.backbone.increase=32',
        'train_dataloader.batch_size=1',
        'train_dataloader.dataset.indices=2',
        'val_dataloader.dataset.indices=1',
        *(
            f'{loader}.{option}'
            for loader in ('train_dataloader', 'val_dataloader')
            for option in data
        ),
        'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1',
        'default_hooks.logger.interval=1',
    )
    assert 'Epoch(train) [1][2/2]' in log
    assert 'Epoch(val) [1][1/1]    mpii/Head: ' in log
    assert 'mpii/mAP: ' in log
    assert (tmp_path / 'best_mpii_mAP_epoch_1.pth').exists()
