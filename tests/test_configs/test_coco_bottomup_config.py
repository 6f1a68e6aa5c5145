"""configs/_base_/datasets/coco_bottomup.py: loads, builds and iterates
with the paths overridden to the repository's real COCO data."""

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from test_datasets.utils import COCO_MINI_ROOT, COCO_TEST_ROOT, REPO_ROOT

from aeplugin.registry import DATASETS, METRICS

BASE_CONFIG = (
    REPO_ROOT / 'configs' / '_base_' / 'datasets' / 'coco_bottomup.py'
)
TEST_ANN = str(COCO_TEST_ROOT / 'test_coco.json')

# people per image of tests/data/coco (ids 785, 40083, 196141, 197388)
PEOPLE = [1, 3, 5, 5]


def _on_test_data(cfg):
    """Point the base config's loaders and evaluators at tests/data/coco."""
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.update(
            data_root=str(COCO_TEST_ROOT),
            ann_file='test_coco.json',
            data_prefix=dict(img=''),
        )
        cfg[loader].update(
            num_workers=0, persistent_workers=False, prefetch_factor=None
        )
    cfg.val_evaluator.ann_file = TEST_ANN
    return cfg


@pytest.fixture
def cfg():
    init_default_scope('aeplugin')
    return _on_test_data(Config.fromfile(str(BASE_CONFIG)))


def test_base_config_defines_full_coco_settings():
    raw = Config.fromfile(str(BASE_CONFIG))
    assert raw.data_root == 'data/coco/'
    assert raw.dataset_type == 'CocoDataset' and raw.data_mode == 'bottomup'
    train, val = raw.train_dataloader.dataset, raw.val_dataloader.dataset
    assert train.ann_file == 'annotations/person_keypoints_train2017.json'
    assert val.ann_file == 'annotations/person_keypoints_val2017.json'
    assert val.test_mode and not train.get('test_mode', False)
    assert raw.test_dataloader == raw.val_dataloader
    assert raw.val_evaluator == dict(
        type='CocoMetric',
        ann_file='data/coco/annotations/person_keypoints_val2017.json',
        nms_mode='none',
        score_mode='bbox',
    )
    assert raw.codec.type == 'BottomupGrouping'
    assert raw.codec.input_size == (512, 512)
    assert raw.codec.heatmap_size == (128, 128)
    assert [t.type for t in train.pipeline] == [
        'LoadImage',
        'BottomupRandomAffine',
        'BottomupRandomFlip',
        'GenerateTarget',
        'BottomupCrowdMask',
        'PackBottomupPoseInputs',
    ]
    assert train.pipeline[3].encoder == raw.codec
    assert [t.type for t in val.pipeline] == [
        'LoadImage',
        'BottomupResize',
        'PackPoseInputs',
    ]


def test_train_dataset_builds_and_iterates(cfg):
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    encoder = dataset.pipeline.transforms[3].encoder
    assert type(encoder).__module__.startswith('aeplugin.codecs')
    assert len(dataset) == 4
    np.random.seed(0)
    for i, people in enumerate(PEOPLE):
        packed = dataset[i]
        sample = packed['data_samples']
        assert packed['inputs'].shape == (3, 512, 512)
        assert packed['inputs'].dtype == torch.uint8
        assert sample.gt_fields.heatmaps.shape == (17, 128, 128)
        assert sample.gt_fields.heatmap_mask.shape == (1, 128, 128)
        assert sample.gt_fields.heatmap_mask.dtype == torch.float32
        labels = sample.gt_instance_labels
        assert labels.keypoint_indices.shape == (people, 17, 2)
        assert labels.keypoint_indices.dtype == torch.int64
        assert labels.keypoint_weights.shape == (people, 17)
        # training keeps the file only, for the collate's errors
        assert sample.metainfo == dict(
            img_path=dataset.get_data_info(i)['img_path']
        )


def test_val_dataset_builds_and_iterates(cfg):
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(dataset) == 4
    for i in range(len(dataset)):
        packed = dataset[i]
        meta = packed['data_samples'].metainfo
        for key in (
            'input_size',
            'input_center',
            'input_scale',
            'flip_indices',
            'ori_shape',
            'img_id',
        ):
            assert key in meta
        w, h = meta['input_size']
        assert packed['inputs'].shape == (3, h, w)


def test_batch_of_three_with_different_people_counts_collates(cfg):
    """The training loader stacks the targets (bottomup_collate), padding
    the people of each image to the most crowded one with unlabelled
    people, and the model's data preprocessor takes the batch."""
    from mmengine.runner import Runner

    from aeplugin.models import BottomupDataPreprocessor

    cfg.train_dataloader.batch_size = 3
    cfg.train_dataloader.sampler.shuffle = False
    cfg.train_dataloader.pin_memory = False
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    batch = next(iter(loader))
    targets = batch['data_samples']
    indices = targets['keypoint_indices']
    assert indices.shape == (3, max(PEOPLE[:3]), 17, 2)
    for image, people in enumerate(PEOPLE[:3]):
        assert not indices[image, people:].any()
        assert indices[image, :people, :, 1].any()

    preprocessor = BottomupDataPreprocessor(
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
    )
    batch = preprocessor(batch, training=True)
    assert batch['inputs'].shape == (3, 3, 512, 512)
    targets = batch['data_samples']
    assert targets['heatmaps'].shape == (3, 17, 128, 128)
    assert targets['heatmap_mask'].shape == (3, 1, 128, 128)


CHILD_CONFIG = """
_base_ = [{base!r}]
codec = dict(_base_.codec, input_size=(640, 640), heatmap_size=(160, 160))
train_pipeline = [
    _base_.load_image,
    dict(_base_.random_affine, input_size=codec['input_size']),
    _base_.random_flip,
    dict(_base_.generate_target, encoder=codec),
    _base_.crowd_mask,
    _base_.pack_train_inputs,
]
val_pipeline = [
    _base_.load_image,
    dict(_base_.resize, input_size=codec['input_size']),
    _base_.pack_val_inputs,
]
data_root = {data_root!r}
train_dataloader = dict(
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=val_pipeline))
test_dataloader = val_dataloader
"""


def test_child_config_changes_the_input_size(tmp_path):
    """The recipe in the base config's header: a child restates the codec
    and lists the pipelines it changes from the base's named steps."""
    child = tmp_path / 'ae_coco_640.py'
    child.write_text(
        CHILD_CONFIG.format(
            base=str(BASE_CONFIG), data_root=str(COCO_MINI_ROOT) + '/'
        )
    )
    cfg = Config.fromfile(str(child))
    assert cfg.codec.input_size == (640, 640)
    assert cfg.codec.decode_topk == 30  # the rest of the codec is kept
    assert cfg.train_dataloader.dataset.pipeline[3].encoder == cfg.codec
    assert cfg.val_dataloader.dataset.pipeline[1].input_size == (640, 640)
    assert cfg.train_dataloader.batch_size == 24  # untouched base settings

    init_default_scope('aeplugin')
    np.random.seed(0)
    packed = DATASETS.build(cfg.train_dataloader.dataset)[0]
    assert packed['inputs'].shape == (3, 640, 640)
    assert packed['data_samples'].gt_fields.heatmaps.shape == (17, 160, 160)
    assert packed['data_samples'].gt_fields.heatmap_mask.shape == (1, 160, 160)
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert min(val[0]['inputs'].shape[1:]) == 640


def test_evaluator_scores_ground_truth_predictions_perfect(cfg):
    """Ground-truth keypoints, sent through the val pipeline's input space
    and mapped back by BottomupPoseEstimator, score AP 1 with the config's
    CocoMetric."""
    from mmengine.structures import InstanceData
    from mmpose.models.pose_estimators import BottomupPoseEstimator

    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = dataset.metainfo
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        meta = sample.metainfo
        gt = sample.gt_instances
        labelled = gt.keypoints_visible.sum(-1) > 0
        size, center, scale = (
            np.asarray(meta[k])
            for k in ('input_size', 'input_center', 'input_scale')
        )
        # the inverse of add_pred_to_datasample's mapping
        in_input = (
            (gt.keypoints[labelled] - center + 0.5 * scale) / scale * size
        )
        pred = InstanceData(
            keypoints=in_input,
            keypoint_scores=np.ones(in_input.shape[:2]),
            bbox_scores=np.ones(len(in_input)),
        )
        BottomupPoseEstimator.add_pred_to_datasample(
            None, [pred], None, [sample]
        )
        metric.process([], [sample.to_dict()])
    results = metric.evaluate(size=len(dataset))
    assert results['coco/AP'] == pytest.approx(1.0)
