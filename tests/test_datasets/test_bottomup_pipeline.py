"""The COCO bottom-up pipelines of configs/_base_/datasets/coco_bottomup.py
on real images: mmpose's affine and resize as the plugin uses them."""

import copy

import numpy as np
import pytest
from mmengine.config import Config

from aeplugin.registry import TRANSFORMS

from .utils import (
    COCO_FLIP_INDICES,
    REPO_ROOT,
    coco_mini_dataset,
    coco_test_dataset,
    index_of,
)

BASE_CONFIG = (
    REPO_ROOT / 'configs' / '_base_' / 'datasets' / 'coco_bottomup.py'
)
W = H = 128
INPUT = 512


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(str(BASE_CONFIG))


def _expected_indices(data_info, results):
    """Position indices computed from the original annotation with the
    sample's warp matrix and flip, independently of the transforms."""
    keypoints = data_info['keypoints']
    labelled = data_info['keypoints_visible'] > 0
    warp = np.vstack([np.asarray(results['warp_mat'], np.float64), [0, 0, 1]])
    if results['flip']:
        # the flip folded the input's mirror into warp_mat; take it out
        mirror = np.array([[-1, 0, INPUT - 1], [0, 1, 0], [0, 0, 1]])
        warp = mirror @ warp
    warped = keypoints @ warp[:2, :2].T + warp[:2, 2]
    # clip_border=True: keypoints pushed off the input lose their label
    labelled &= ((warped >= 0) & (warped <= INPUT)).all(-1)
    if results['flip']:
        warped = warped[:, COCO_FLIP_INDICES]
        warped[..., 0] = INPUT - 1 - warped[..., 0]
        labelled = labelled[:, COCO_FLIP_INDICES]
    cell = np.floor(warped / (INPUT / W) + 0.5).astype(np.int64)
    x, y = cell[..., 0], cell[..., 1]
    visible = labelled & (x >= 0) & (x < W) & (y >= 0) & (y < H)
    return y * W + x, visible


def test_indices_follow_random_affines_and_flips(cfg):
    """All 28 images of data/coco-mini, three seeded augmentations each."""
    dataset = coco_mini_dataset(cfg.train_pipeline[:-1])
    np.random.seed(0)
    flips = total_visible = 0
    for _ in range(3):
        for i in range(len(dataset)):
            results = dataset[i]
            indices = results['keypoint_indices']
            assert indices.dtype == np.int64
            visible = indices[..., 1] > 0
            assert (
                (indices[..., 0][visible] >= 0)
                & (indices[..., 0][visible] < H * W)
            ).all()
            expected, expected_visible = _expected_indices(
                dataset.get_data_info(i), results
            )
            np.testing.assert_array_equal(visible, expected_visible)
            np.testing.assert_array_equal(
                indices[..., 0][visible], expected[visible]
            )
            flips += results['flip']
            total_visible += visible.sum()
    assert 25 < flips < 60  # both branches ran
    assert total_visible > 1000


def _fixed_affine(offset, scale=1.0, rotate=0.0, clip_border=True):
    """mmpose's BottomupRandomAffine with its random draw replaced."""
    affine = TRANSFORMS.build(
        dict(
            type='BottomupRandomAffine',
            input_size=(INPUT, INPUT),
            clip_border=clip_border,
        )
    )
    params = (
        np.asarray(offset, np.float32),
        np.full(1, scale, np.float32),
        rotate,
        np.zeros(2, np.float32),
    )
    affine._get_transform_params = lambda: params
    return affine


def _targets_and_pack(results, flip_prob=0.0):
    codec = Config.fromfile(str(BASE_CONFIG)).codec
    for cfg in (
        dict(type='BottomupRandomFlip', prob=flip_prob),
        dict(type='GenerateTarget', encoder=codec),
        dict(type='BottomupCrowdMask'),
        dict(type='PackBottomupPoseInputs'),
    ):
        results = TRANSFORMS.build(cfg)(results)
    return results['data_samples']


@pytest.mark.parametrize('clip_border', [True, False])
def test_people_shifted_out_lose_visibility(clip_border):
    """Shifting the view right by 60% of the image width pushes the people
    on the left out: their keypoints become invisible, nothing crashes."""
    dataset = coco_test_dataset([dict(type='LoadImage')])
    i = index_of(dataset, 197388)
    results = _fixed_affine((0.6, 0.0), clip_border=clip_border)(dataset[i])
    warp = results['warp_mat']
    labels = _targets_and_pack(results).gt_instance_labels
    visible = labels.keypoint_indices[..., 1].numpy() > 0

    original = dataset.get_data_info(i)
    labelled = original['keypoints_visible'] > 0
    warped_x = original['keypoints'] @ warp[0, :2] + warp[0, 2]
    gone = ~(labelled & (warped_x >= 0)).any(-1)  # every label off view
    in_view = labelled & (warped_x > 2) & (warped_x < INPUT - 3)
    assert gone.sum() >= 2 and in_view.any(-1).sum() >= 2
    assert not visible[gone].any()
    assert visible[in_view].all()
    if clip_border:
        assert not labels.keypoint_weights.numpy()[gone].any()


def test_everyone_shifted_out_gives_empty_targets():
    dataset = coco_test_dataset([dict(type='LoadImage')])
    results = dataset[index_of(dataset, 197388)]
    sample = _targets_and_pack(_fixed_affine((3.0, 0.0))(results), 1.0)
    assert sample.gt_instance_labels.keypoint_indices.shape == (5, 17, 2)
    assert not sample.gt_instance_labels.keypoint_indices[..., 1].any()
    assert not sample.gt_fields.heatmaps.any()
    assert not sample.gt_fields.heatmap_mask.any()  # all padding


def _blob_image(shape, x0, y0, sigma=3.0):
    ys, xs = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    blob = np.exp(-((xs - x0) ** 2 + (ys - y0) ** 2) / (2 * sigma**2))
    return np.repeat(blob[..., None], 3, axis=2).astype(np.float32)


@pytest.mark.parametrize(
    'dataset_name,img_id', [('test', 785), ('test', 40083), ('mini', 69468)]
)
def test_val_predictions_map_back_to_the_original_pixel(
    cfg, dataset_name, img_id
):
    """A blob at known sub-pixel points of the original image is found in
    the resized input, and mmpose's BottomupPoseEstimator maps the found
    input position back onto the point."""
    from mmengine.structures import InstanceData
    from mmpose.models.pose_estimators import BottomupPoseEstimator

    build = coco_test_dataset if dataset_name == 'test' else coco_mini_dataset
    dataset = build([dict(type='LoadImage')], test_mode=True)
    loaded = dataset[index_of(dataset, img_id)]
    img_h, img_w = loaded['ori_shape']
    resize, pack = (TRANSFORMS.build(t) for t in cfg.val_pipeline[1:])

    points = np.array(
        [
            [0.31 * img_w, 0.27 * img_h],
            [0.77 * img_w + 0.4, 0.58 * img_h + 0.3],
            [12.25, img_h - 13.5],
        ]
    )
    errors = []
    for x0, y0 in points:
        results = copy.deepcopy(loaded)
        results['img'] = _blob_image((img_h, img_w), x0, y0)
        packed = pack(resize(results))
        sample = packed['data_samples']
        input_w, input_h = sample.metainfo['input_size']
        assert input_w % 64 == 0 and input_h % 64 == 0
        assert min(input_w, input_h) == INPUT
        assert tuple(packed['inputs'].shape[1:]) == (input_h, input_w)

        response = packed['inputs'][0].numpy().astype(np.float64)
        ys, xs = np.mgrid[:input_h, :input_w]
        found = (
            np.array([(xs * response).sum(), (ys * response).sum()])
            / response.sum()
        )
        pred = InstanceData(
            keypoints=found[None, None], keypoint_scores=np.ones((1, 1))
        )
        BottomupPoseEstimator.add_pred_to_datasample(
            None, [pred], None, [sample]
        )
        errors.append(sample.pred_instances.keypoints[0, 0] - (x0, y0))
    errors = np.abs(errors)
    assert errors.max() < 0.05, errors
