"""Training AE on your own keypoints: the face config (K=5, COCO format,
data/coco-mini-face) trains, and evaluates with its own sigmas."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import aeplugin  # noqa: F401  (lets torch.load read runner checkpoints)
from aeplugin.apis import check_keypoint_count
from aeplugin.registry import DATASETS, METRICS, MODELS

ROOT = Path(__file__).parents[2]
CONFIG = 'configs/ae_hourglass-tiny_1xb4-400e_coco-mini-face-384x256.py'
FACE_SIGMAS = np.float32([0.026, 0.025, 0.025, 0.035, 0.035])
# a few images, one small stack, no workers: seconds per run
FAST = [
    'model.backbone.feat_channels=16',
    'model.backbone.increase=8',
    'train_dataloader.dataset.indices=4',
    'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.dataset.indices=2',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'default_hooks.logger.interval=1',
]


def test_ground_truth_scores_ap_1_with_the_face_metric():
    cfg = Config.fromfile(ROOT / CONFIG)
    with DefaultScope.overwrite_default_scope('aeplugin'):
        dataset = DATASETS.build(dict(cfg.val_dataloader.dataset, pipeline=[]))
        metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = dataset.metainfo
    np.testing.assert_array_equal(metric.dataset_meta['sigmas'], FACE_SIGMAS)
    samples = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        labelled = info['keypoints_visible'].sum(axis=1) > 0
        keypoints = info['keypoints'][labelled]
        assert keypoints.shape[1:] == (5, 2)
        samples.append(
            dict(
                id=info['id'],
                img_id=info['img_id'],
                gt_instances={},
                pred_instances=dict(
                    keypoints=keypoints,
                    keypoint_scores=np.ones(keypoints.shape[:2]),
                    bbox_scores=np.ones(len(keypoints)),
                ),
            )
        )
    metric.process([], samples)
    metrics = metric.evaluate(len(samples))
    assert metrics['coco/AP'] == pytest.approx(1.0)


@pytest.mark.parametrize(
    'change, message',
    [
        (
            {'model.head.decoder.decode_keypoint_order': list(range(6))},
            'decode_keypoint_order must be a permutation of 0..4',
        ),
        (
            {
                'model.backbone.out_channels': 34,
                'model.head.in_channels': 34,
                'model.head.num_keypoints': 17,
            },
            "the dataset 'coco_face' has 5 keypoints but the model head "
            'predicts 17',
        ),
    ],
)
def test_a_model_of_other_keypoints_is_refused(change, message):
    cfg = Config.fromfile(ROOT / CONFIG)
    cfg.merge_from_dict(change)
    with DefaultScope.overwrite_default_scope('aeplugin'):
        dataset = DATASETS.build(
            dict(cfg.train_dataloader.dataset, pipeline=[], lazy_init=True)
        )
        model = MODELS.build(cfg.model)
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        check_keypoint_count(model, dataset.metainfo, CONFIG)
    assert str(error.value).startswith(CONFIG)


@pytest.mark.slow
def test_face_config_trains_and_evaluates(tmp_path):
    def run(tool, *args):
        result = subprocess.run(
            [sys.executable, f'tools/{tool}.py', CONFIG, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, 'OMP_NUM_THREADS': '1'},
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr
        return result.stdout

    run(
        'train',
        '--work-dir',
        str(tmp_path),
        '--cfg-options',
        'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1',
        *FAST,
    )
    checkpoint = torch.load(tmp_path / 'epoch_1.pth', weights_only=True)
    assert checkpoint['meta']['iter'] == 2
    meta = checkpoint['meta']['dataset_meta']
    assert meta['num_keypoints'] == 5
    np.testing.assert_array_equal(meta['sigmas'], FACE_SIGMAS)
    # the network predicts K x (1 + L) = 10 maps, no 34 (COCO's)
    convs = [v for v in checkpoint['state_dict'].values() if v.ndim == 4]
    assert any(v.shape[0] == 10 for v in convs)
    assert not any(v.shape[0] == 34 for v in convs)

    out = tmp_path / 'metrics.json'
    run(
        'test',
        str(tmp_path / 'epoch_1.pth'),
        '--work-dir',
        str(tmp_path / 'test'),
        '--out',
        str(out),
        '--cfg-options',
        *FAST,
    )
    metrics = json.loads(out.read_text())
    assert 0.0 <= metrics['coco/AP'] <= 1.0
