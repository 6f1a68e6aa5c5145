import cv2
import numpy as np
from mmengine.structures import InstanceData
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.structures import PoseDataSample

from aeplugin.apis import draw_poses

from .tiny_model import IMAGES, K

COCO_META = parse_pose_metainfo(
    dict(from_file='configs/_base_/datasets/coco.py')
)


def test_draws_confident_keypoints_in_their_colour():
    image = cv2.imread(IMAGES[0])
    keypoints = np.array([[[100 + 20 * k, 200] for k in range(K)]], float)
    scores = np.ones((1, K))
    # below kpt_thr: neither the keypoint nor its limbs are drawn
    keypoints[0, 1] = [600, 60]
    scores[0, 1] = 0.1
    result = PoseDataSample()
    result.pred_instances = InstanceData(
        keypoints=keypoints, keypoint_scores=scores
    )
    drawn = draw_poses(IMAGES[0], result, COCO_META, kpt_thr=0.3, radius=4)
    assert drawn.shape == image.shape and drawn.dtype == np.uint8
    np.testing.assert_array_equal(
        drawn, draw_poses(image, result, COCO_META, kpt_thr=0.3, radius=4)
    )

    colours = COCO_META['keypoint_colors']  # RGB
    for k in (0, 2, 16):
        x, y = keypoints[0, k].astype(int)
        np.testing.assert_array_equal(drawn[y, x], colours[k][::-1])
    # away from the drawn keypoints nothing changes
    np.testing.assert_array_equal(drawn[:150], image[:150])


def test_weak_people_are_left_out_above_person_thr():
    image = cv2.imread(IMAGES[0])
    keypoints = np.stack(
        [
            [[100 + 20 * k, 200] for k in range(K)],
            [[100 + 20 * k, 350] for k in range(K)],
        ]
    ).astype(float)
    result = PoseDataSample()
    result.pred_instances = InstanceData(
        keypoints=keypoints,
        keypoint_scores=np.ones((2, K)),
        bbox_scores=np.array([0.9, 0.05]),
    )
    every = draw_poses(image, result, COCO_META)
    strong = draw_poses(image, result, COCO_META, person_thr=0.1)
    colour = COCO_META['keypoint_colors'][0][::-1]
    np.testing.assert_array_equal(every[200, 100], colour)
    np.testing.assert_array_equal(strong[200, 100], colour)
    np.testing.assert_array_equal(every[350, 100], colour)
    np.testing.assert_array_equal(strong[330:370], image[330:370])
    # the caller's result is left as it was
    assert len(result.pred_instances) == 2
    assert 'keypoints_visible' not in result.pred_instances
