"""Draw predicted people on an image with mmpose's visualizer (ours:
:class:`aeplugin.visualization.AEPoseLocalVisualizer`)."""

from pathlib import Path
from typing import Union

import mmcv
import numpy as np
from mmpose.structures import PoseDataSample

from aeplugin.visualization import AEPoseLocalVisualizer


def draw_poses(
    image: Union[str, Path, np.ndarray],
    result: PoseDataSample,
    dataset_meta: dict,
    kpt_thr: float = 0.3,
    person_thr: float = 0.0,
    radius: int = 3,
    thickness: int = 1,
    show_kpt_idx: bool = False,
    color_by_tag: bool = False,
) -> np.ndarray:
    """Draw the skeletons of a prediction with ``PoseLocalVisualizer``.

    Note:
        - image size: [w, h]

    Args:
        image (str | Path | np.ndarray): The image file or BGR image
            (h, w, 3) the prediction was made on
        result (PoseDataSample): A result of
            :func:`aeplugin.apis.inference_bottomup`: ``pred_instances``
            with ``keypoints`` (N, K, 2) and ``keypoints_visible`` or
            ``keypoint_scores`` (N, K)
        dataset_meta (dict): Keypoint names, skeleton and colours, e.g.
            ``model.dataset_meta``
        kpt_thr (float): Keypoints scoring below it, and their limbs, are
            not drawn. Defaults to 0.3
        person_thr (float): People whose ``bbox_scores`` are below it are
            not drawn (weak groups of stray peaks). Defaults to 0.0
        radius (int): Keypoint radius in pixels. Defaults to 3
        thickness (int): Limb line width in pixels. Defaults to 1
        show_kpt_idx (bool): Write each keypoint's index. Defaults to False
        color_by_tag (bool): Draw each person in one colour from its mean
            tag (needs ``keypoint_tags`` (N, K, L) in ``pred_instances``),
            instead of the dataset's keypoint and limb colours. Defaults to
            False

    Returns:
        np.ndarray: The drawn BGR image (h, w, 3), uint8
    """
    if isinstance(image, (str, Path)):
        image = mmcv.imread(str(image))
    if not isinstance(image, np.ndarray) or image.ndim != 3:
        raise ValueError(
            'image must be a path or a BGR image of shape (h, w, 3), got '
            f'{getattr(image, "shape", type(image).__name__)}'
        )
    result = result.clone()
    people = result.pred_instances
    if 'bbox_scores' in people:
        people = people[np.asarray(people.bbox_scores) >= person_thr]
    if 'keypoints_visible' not in people and 'keypoint_scores' in people:
        # the visualizer thresholds `keypoints_visible` (mmpose's estimators
        # set it to the scores)
        people.keypoints_visible = people.keypoint_scores
    result.pred_instances = people
    visualizer = AEPoseLocalVisualizer(
        radius=radius, line_width=thickness, color_by_tag=color_by_tag
    )
    visualizer.set_dataset_meta(dataset_meta)
    visualizer.add_datasample(
        'result',
        mmcv.bgr2rgb(image),
        data_sample=result,
        draw_gt=False,
        draw_bbox=False,
        show_kpt_idx=show_kpt_idx,
        kpt_thr=kpt_thr,
    )
    return mmcv.rgb2bgr(visualizer.get_image())
