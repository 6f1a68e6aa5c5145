"""The HigherHRNet configs: the official recipe's values, the paper's
parameter counts, and the tiny variant training and evaluating on CPU."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from aeplugin.registry import KEYPOINT_CODECS, MODELS

ROOT = Path(__file__).parents[2]
W32_512 = 'ae_higherhrnet-w32_8xb12-300e_coco-512x512.py'
W32_640 = 'ae_higherhrnet-w32_8xb12-300e_coco-640x640.py'
W48_640 = 'ae_higherhrnet-w48_8xb10-300e_coco-640x640.py'
TINY = 'ae_higherhrnet-tiny_1xb4-400e_coco-mini-384x256.py'


def _config(name):
    return Config.fromfile(ROOT / 'configs' / name)


@pytest.mark.parametrize(
    'name, size, batch, params',
    [
        # the paper's table: 28.6M (w32) and 63.8M (w48)
        (W32_512, 512, 12, 28_645_331),
        (W32_640, 640, 12, 28_645_331),
        (W48_640, 640, 10, 63_827_139),
    ],
)
def test_paper_configs_follow_the_official_yaml(name, size, batch, params):
    cfg = _config(name)
    with DefaultScope.overwrite_default_scope('aeplugin'):
        codec = KEYPOINT_CODECS.build(cfg.codec)
    assert type(codec).__name__ == 'HigherBottomupGrouping'
    assert codec.input_size == (size, size)
    # OUTPUT_SIZE: [size / 4, size / 2]
    assert codec.encoded_sizes == [(size // 4,) * 2, (size // 2,) * 2]
    assert codec.sigma == 2
    assert codec.decode_nms_kernel == 5  # NMS_KERNEL
    assert codec.decode_keypoint_thr == 0.1  # DETECTION_THRESHOLD
    assert codec.decode_tag_thr == 1.0  # TAG_THRESHOLD
    assert codec.adjust and codec.refine
    pipeline = cfg.train_dataloader.dataset.pipeline
    affine = next(t for t in pipeline if t['type'] == 'BottomupRandomAffine')
    assert affine['input_size'] == (size, size)
    assert affine['rotate_factor'] == 30  # MAX_ROTATION
    assert affine['scale_factor'] == (0.75, 1.5)  # MIN/MAX_SCALE
    assert affine['scale_type'] == 'short'
    # MAX_TRANSLATE 40 of the official 200-pixel scale unit
    assert affine['shift_factor'] == 40 / 200
    flip = next(t for t in pipeline if t['type'] == 'BottomupRandomFlip')
    assert flip['prob'] == 0.5
    mask = next(t for t in pipeline if t['type'] == 'BottomupCrowdMask')
    assert mask['heatmap_keys'] == ('heatmaps', 'heatmaps_2x')
    assert pipeline[-1]['type'] == 'PackHigherBottomupPoseInputs'
    assert cfg.train_dataloader.batch_size == batch  # IMAGES_PER_GPU
    assert cfg.auto_scale_lr.base_batch_size == 8 * batch
    assert cfg.optim_wrapper.optimizer == dict(type='Adam', lr=1e-3)
    assert cfg.train_cfg.max_epochs == 300
    step = next(s for s in cfg.param_scheduler if s['type'] == 'MultiStepLR')
    assert step['milestones'] == [200, 260] and step['gamma'] == 0.1
    head = cfg.model.head
    assert head.type == 'HigherAssociativeEmbeddingHead'
    assert head.heatmap_loss_weights == (1.0, 1.0)
    assert head.tag_loss == dict(type='AELoss', loss_weight=1e-3)
    assert head.num_basic_blocks == 4
    # PROJECT2IMAGE: the aggregated maps are resized to the input
    assert cfg.model.test_cfg.restore_heatmap_size is True
    assert cfg.model.test_cfg.flip_test is True
    assert head.decoder['higher_heatmap_size'] == (size, size)

    cfg.model.backbone.pop('init_cfg')  # no download
    with DefaultScope.overwrite_default_scope('aeplugin'):
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) == params


FAST = [
    'train_dataloader.dataset.indices=2',
    'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.dataset.indices=2',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'default_hooks.logger.interval=1',
]


def _run(args):
    out = subprocess.run(
        [sys.executable, *args],
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
def test_tiny_config_trains_and_evaluates_on_cpu(tmp_path):
    log = _run(
        [
            'tools/train.py',
            f'configs/{TINY}',
            '--work-dir',
            str(tmp_path),
            '--cfg-options',
            'train_cfg.max_epochs=2',
            'train_cfg.val_interval=2',
            *FAST,
        ]
    )
    # both resolutions' heatmap losses and the tag losses are logged
    losses = re.findall(
        r'loss_kpt: ([0-9.e-]+)\s+loss_kpt_2x: ([0-9.e-]+)\s+'
        r'loss_pull: ([0-9.e-]+)\s+loss_push: ([0-9.e-]+)',
        log,
    )
    assert len(losses) == 2, log[-2000:]
    assert all(float(v) > 0 for v in losses[0][:2])
    # the run's validation decoded and evaluated the two images
    assert re.search(r'coco/AP: [0-9.]+', log), log[-2000:]
