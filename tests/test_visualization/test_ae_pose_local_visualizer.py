import colorsys

import numpy as np
import pytest
from mmengine.structures import InstanceData
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.structures import PoseDataSample

from aeplugin.visualization import AEPoseLocalVisualizer, person_tag_colors

COCO_META = parse_pose_metainfo(
    dict(from_file='configs/_base_/datasets/coco.py')
)
K = 17


def _hue_rgb(hue):
    return [round(255 * c) for c in colorsys.hsv_to_rgb(hue, 1.0, 1.0)]


def test_person_tag_colors_spread_the_mean_tags_over_the_hues():
    tags = np.zeros((4, 3, 1))
    tags[0] = 2.0
    tags[1] = [[0.0], [1.0], [np.nan]]  # mean 0.5 (NaN left out)
    tags[2] = [[1.0], [1.0], [9.0]]  # mean 1.0 (score 0 left out)
    tags[3] = np.nan  # no tag: grey
    scores = np.ones((4, 3))
    scores[2, 2] = 0
    colors = person_tag_colors(tags, scores)
    assert colors.dtype == np.uint8
    # means 2, 0.5, 1 over [0.5, 2]: hues 0.8, 0, 0.8 * 0.5 / 1.5
    np.testing.assert_array_equal(colors[0], _hue_rgb(0.8))
    np.testing.assert_array_equal(colors[1], _hue_rgb(0.0))
    np.testing.assert_array_equal(colors[2], _hue_rgb(0.8 / 3))
    np.testing.assert_array_equal(colors[3], [128, 128, 128])


def test_person_tag_colors_of_2d_tags_follow_their_main_direction():
    # the people lie along one line in the 2-D tag space: their order on
    # it decides the hues (up to its sign)
    means = np.array([0.0, 3.0, 1.0])
    tags = np.repeat(np.stack([means, -2 * means], axis=1)[:, None], 2, 1)
    hues = person_tag_colors(tags).astype(int)
    ends = {tuple(hues[0]), tuple(hues[1])}
    assert ends == {tuple(_hue_rgb(0.0)), tuple(_hue_rgb(0.8))}


def test_bad_tags_are_an_error():
    with pytest.raises(ValueError, match=r'\(N, K, L\)'):
        person_tag_colors(np.zeros((2, 3)))


def _sample(tags):
    keypoints = np.stack(
        [
            [[40 + 20 * k, 40] for k in range(K)],
            [[40 + 20 * k, 120] for k in range(K)],
        ]
    ).astype(float)
    sample = PoseDataSample()
    sample.pred_instances = InstanceData(
        keypoints=keypoints,
        keypoints_visible=np.ones((2, K)),
        keypoint_scores=np.ones((2, K)),
        keypoint_tags=tags,
    )
    return sample, keypoints.astype(int)


@pytest.mark.parametrize('backend', ['opencv', 'matplotlib'])
def test_draws_keypoints_under_numpy_2(backend):
    image = np.zeros((160, 400, 3), np.uint8)
    sample, keypoints = _sample(np.zeros((2, K, 1)))
    visualizer = AEPoseLocalVisualizer(
        name=f'test_{backend}', backend=backend, radius=3
    )
    visualizer.set_dataset_meta(COCO_META)
    drawn = visualizer.add_datasample(
        'x', image, sample, draw_gt=False, draw_bbox=False
    )
    x, y = keypoints[1, K - 1]
    # the last keypoint drawn is in its colour (RGB); the matplotlib backend
    # blends its edges, not its centre
    np.testing.assert_allclose(
        drawn[y, x], COCO_META['keypoint_colors'][K - 1], atol=2
    )


def test_color_by_tag_draws_each_person_in_one_colour():
    image = np.zeros((160, 400, 3), np.uint8)
    tags = np.zeros((2, K, 1))
    tags[1] = 5.0
    sample, keypoints = _sample(tags)
    visualizer = AEPoseLocalVisualizer(name='test_tag', color_by_tag=True)
    visualizer.set_dataset_meta(COCO_META)
    drawn = visualizer.add_datasample(
        'x', image, sample, draw_gt=False, draw_bbox=False
    )
    for person, hue in ((0, 0.0), (1, 0.8)):
        for k in (0, 8, K - 1):
            x, y = keypoints[person, k]
            np.testing.assert_array_equal(drawn[y, x], _hue_rgb(hue))
    # the dataset's colours are back for the next picture
    np.testing.assert_array_equal(
        visualizer.kpt_color, COCO_META['keypoint_colors']
    )
    # without tags the dataset's colours
    del sample.pred_instances.keypoint_tags
    drawn = visualizer.add_datasample(
        'x', image, sample, draw_gt=False, draw_bbox=False
    )
    x, y = keypoints[0, 0]
    np.testing.assert_array_equal(drawn[y, x], COCO_META['keypoint_colors'][0])
