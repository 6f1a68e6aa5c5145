"""The CrowdPose and OCHuman configs on real samples of both datasets
(tests/data/crowdpose, tests/data/ochuman: mmpose's own test data)."""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from test_tools.test_train_test_tools import _run

from aeplugin.registry import DATASETS, METRICS, MODELS

ROOT = Path(__file__).parents[2]
CROWDPOSE = ROOT / 'tests' / 'data' / 'crowdpose'
OCHUMAN = ROOT / 'tests' / 'data' / 'ochuman'
CROWDPOSE_CONFIG = 'configs/ae_hourglass-4stack_8xb6-300e_crowdpose-512x512.py'
OCHUMAN_CONFIG = (
    'configs/ae_hourglass-4stack_8xb6-300e_coco-512x512_ochuman-512x512.py'
)
# the 4-stack network shrunk to one stack of 64 features: seconds on a CPU
SMALL = dict(num_stacks=1, feat_channels=64, increase=32)
# CrowdPose's easy / medium / hard split by the images' crowd index
CROWD_STATS = ('AP(E)', 'AP(M)', 'AP(H)')


def _on(cfg, loaders, root, ann_file):
    for loader in loaders:
        cfg[loader].dataset.update(
            data_root=str(root), ann_file=ann_file, data_prefix=dict(img='')
        )
        cfg[loader].update(num_workers=0, persistent_workers=False)


def test_crowdpose_config_settings():
    cfg = Config.fromfile(ROOT / CROWDPOSE_CONFIG)
    assert cfg.train_dataloader.dataset.type == 'CrowdPoseDataset'
    assert cfg.val_dataloader.dataset.type == 'CrowdPoseDataset'
    assert cfg.val_evaluator == dict(
        type='CocoMetric',
        ann_file='data/crowdpose/annotations/mmpose_crowdpose_test.json',
        nms_mode='none',
        score_mode='bbox',
        iou_type='keypoints_crowd',
        use_area=False,
        prefix='crowdpose',
    )
    assert cfg.model.backbone.out_channels == 28
    assert cfg.model.head.in_channels == 28
    assert cfg.model.head.num_keypoints == 14
    # head top, neck, shoulders, hips, then the limbs outwards
    order = cfg.codec.decode_keypoint_order
    assert order[:6] == [12, 13, 0, 1, 6, 7]
    assert sorted(order) == list(range(14))
    assert cfg.model.head.decoder.decode_keypoint_order == order
    # the COCO recipe's steps, with this codec in GenerateTarget
    coco = Config.fromfile(
        ROOT / 'configs' / '_base_' / 'datasets' / 'coco_bottomup.py'
    )
    assert len(cfg.train_pipeline) == len(coco.train_pipeline)
    for step, coco_step in zip(cfg.train_pipeline, coco.train_pipeline):
        if step.type == 'GenerateTarget':
            assert step.encoder == cfg.codec
        else:
            assert step == coco_step
    assert cfg.val_pipeline == coco.val_pipeline
    assert cfg.train_dataloader.dataset.pipeline == cfg.train_pipeline


def test_ochuman_config_changes_only_the_test_data():
    coco = Config.fromfile(
        ROOT / 'configs' / 'ae_hourglass-4stack_8xb6-300e_coco-512x512.py'
    )
    cfg = Config.fromfile(ROOT / OCHUMAN_CONFIG)
    for key in ('model', 'train_dataloader', 'train_cfg', 'optim_wrapper'):
        assert cfg[key] == coco[key], key
    ann = 'annotations/ochuman_coco_format_test_range_0.00_1.00.json'
    assert cfg.test_dataloader.dataset.type == 'OCHumanDataset'
    assert cfg.test_dataloader.dataset.ann_file == ann
    assert cfg.test_evaluator.ann_file == 'data/ochuman/' + ann
    assert cfg.test_evaluator.type == 'CocoMetric'


def _with_crowd_indices(tmp_path, indices):
    """A copy of the CrowdPose samples' annotations with other crowd
    indices (both real images are medium: 0.33 and 0.39)."""
    data = json.loads((CROWDPOSE / 'test_crowdpose.json').read_text())
    for image, index in zip(data['images'], indices):
        image['crowdIndex'] = index
    path = tmp_path / 'test_crowdpose.json'
    path.write_text(json.dumps(data))
    return path


def _ground_truth_scores(cfg):
    """The config's metric on the ground truth of its val dataset given as
    predictions: each person's labelled keypoints are sent into the val
    pipeline's input space and mapped back to the image by
    BottomupPoseEstimator, as the model's predictions are."""
    from mmengine.structures import InstanceData
    from mmpose.models.pose_estimators import BottomupPoseEstimator

    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    samples = [dataset[i]['data_samples'] for i in range(len(dataset))]
    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = dataset.metainfo
    for sample in samples:
        people = sample.gt_instances
        people = people[people.keypoints_visible.sum(-1) > 0]
        center, scale, input_size = (
            np.asarray(sample.metainfo[key])
            for key in ('input_center', 'input_scale', 'input_size')
        )
        pred = InstanceData(
            keypoints=((people.keypoints - center) / scale + 0.5) * input_size,
            keypoint_scores=np.ones(people.keypoints.shape[:2]),
            bbox_scores=np.ones(len(people)),
        )
        BottomupPoseEstimator.add_pred_to_datasample(
            None, [pred], None, [sample]
        )
        metric.process([], [sample.to_dict()])
    return metric.evaluate(size=len(samples))


@pytest.mark.parametrize(
    'crowd_indices, scored',
    [(None, ('AP(M)',)), ((0.05, 0.9), ('AP(E)', 'AP(H)'))],
    ids=['real', 'easy-and-hard'],
)
def test_ground_truth_predictions_score_perfect_crowdpose_ap(
    tmp_path, crowd_indices, scored
):
    """Ground truth as predictions scores AP 1 with the config's CrowdPose
    metric, in every crowd level that holds images (-1 in the empty
    ones): on the real samples (both medium) and on a copy of their
    annotations with one easy and one hard image."""
    init_default_scope('aeplugin')
    cfg = Config.fromfile(ROOT / CROWDPOSE_CONFIG)
    ann_file = CROWDPOSE / 'test_crowdpose.json'
    if crowd_indices is not None:
        ann_file = _with_crowd_indices(tmp_path, crowd_indices)
    _on(cfg, ['val_dataloader'], CROWDPOSE, str(ann_file))
    cfg.val_evaluator.ann_file = str(ann_file)
    cfg.val_evaluator.outfile_prefix = str(tmp_path / 'results')
    results = _ground_truth_scores(cfg)
    # the AP numbers (shown with pytest -s)
    print(', '.join(f'{k}: {v:.4f}' for k, v in results.items()))
    assert results['crowdpose/AP'] == pytest.approx(1.0)
    for stat in CROWD_STATS:
        expected = 1.0 if stat in scored else -1.0
        assert results[f'crowdpose/{stat}'] == pytest.approx(expected)


def _data_options(loaders, root, ann_file):
    return [
        f'{loader}.{option}'
        for loader in loaders
        for option in (
            f'dataset.data_root={root.relative_to(ROOT)}/',
            f'dataset.ann_file={ann_file}',
            'dataset.data_prefix.img=',
            'num_workers=0',
            'persistent_workers=False',
        )
    ]


@pytest.mark.slow
def test_crowdpose_config_trains_and_validates_on_cpu(tmp_path):
    """Two training iterations and a validation with the CrowdPose metric
    on the 2 CrowdPose images (batch 1), with a 1-stack hourglass."""
    ann = 'test_crowdpose.json'
    log = _run(
        [
            sys.executable,
            'tools/train.py',
            CROWDPOSE_CONFIG,
            '--work-dir',
            str(tmp_path),
            '--cfg-options',
            *(f'model.backbone.{k}={v}' for k, v in SMALL.items()),
            'train_dataloader.batch_size=1',
            *_data_options(
                ('train_dataloader', 'val_dataloader'), CROWDPOSE, ann
            ),
            f'val_evaluator.ann_file={CROWDPOSE / ann}',
            'train_cfg.max_epochs=1',
            'train_cfg.val_interval=1',
            'default_hooks.logger.interval=1',
        ]
    )
    assert 'Epoch(train) [1][2/2]' in log
    for stat in ('AP', *CROWD_STATS):
        assert re.search(rf'crowdpose/{re.escape(stat)}: -?[0-9.]+', log)
    assert (tmp_path / 'best_crowdpose_AP_epoch_1.pth').exists()


@pytest.mark.slow
def test_ochuman_config_evaluates_a_checkpoint_on_cpu(tmp_path):
    """tools/test.py with the OCHuman config on the 3 OCHuman images, from a
    checkpoint of a random-weight 1-stack model (flip test as configured,
    no refine)."""
    init_default_scope('aeplugin')
    model_cfg = Config.fromfile(ROOT / OCHUMAN_CONFIG).model
    model_cfg.backbone.update(SMALL)
    checkpoint = tmp_path / 'random.pth'
    state_dict = MODELS.build(model_cfg).state_dict()
    torch.save(dict(state_dict=state_dict, meta={}), checkpoint)
    ann = 'test_ochuman.json'
    log = _run(
        [
            sys.executable,
            'tools/test.py',
            OCHUMAN_CONFIG,
            str(checkpoint),
            '--work-dir',
            str(tmp_path / 'test'),
            # refine on random maps: ~10 s an image on 2 CPU cores
            '--no-refine',
            '--cfg-options',
            *(f'model.backbone.{k}={v}' for k, v in SMALL.items()),
            *_data_options(('test_dataloader',), OCHUMAN, ann),
            f'test_evaluator.ann_file={OCHUMAN / ann}',
        ]
    )
    assert 'Epoch(test) [3/3]' in log, log[-2000:]
    assert re.search(r'ochuman/AP: [0-9.]+', log), log[-2000:]
