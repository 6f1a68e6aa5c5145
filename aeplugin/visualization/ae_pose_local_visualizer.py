"""mmpose's pose visualizer, drawing under numpy 2, with people optionally
coloured by their embedding tags."""

import colorsys

import numpy as np
from mmpose.visualization import PoseLocalVisualizer

from aeplugin.registry import VISUALIZERS

from .tag_plot import project_2d


def person_tag_colors(
    keypoint_tags: np.ndarray, keypoint_scores: np.ndarray = None
) -> np.ndarray:
    """One colour per person from the mean of its keypoints' tags: people
    whose tags are close get close hues, so a grouping that mixes two
    people shows as two skeletons of one colour.

    The people's mean tags (their first principal component when L > 1) are
    spread over the hues from red (lowest) to violet (highest) of the image.

    Note:
        - instance number: N
        - keypoint number: K
        - tag dimension: L

    Args:
        keypoint_tags (np.ndarray): Tags in shape (N, K, L); NaN tags are
            left out of the mean
        keypoint_scores (np.ndarray, optional): Scores in shape (N, K);
            keypoints scoring 0 (not found by the decoder) are left out

    Returns:
        np.ndarray: RGB colours in shape (N, 3), uint8; grey for a person
        without a tag
    """
    tags = np.asarray(keypoint_tags, dtype=np.float64)
    if tags.ndim != 3:
        raise ValueError(
            f'keypoint_tags must have shape (N, K, L), got {tags.shape}'
        )
    N = tags.shape[0]
    keep = ~np.isnan(tags).any(axis=-1)
    if keypoint_scores is not None:
        keep &= np.asarray(keypoint_scores) > 0
    counts = keep.sum(axis=1)
    has_tag = counts > 0
    sums = np.where(keep[..., None], np.nan_to_num(tags), 0).sum(axis=1)
    means = sums[has_tag] / counts[has_tag, None]
    colors = np.full((N, 3), 128, dtype=np.uint8)
    if not len(means):
        return colors
    if means.shape[1] > 1:
        means = project_2d(means)[0]
    values = means[:, 0]
    span = values.max() - values.min()
    # 0.8 of the hue circle: the highest tag is violet, not red again
    hues = 0.8 * (values - values.min()) / span if span > 0 else 0 * values
    colors[has_tag] = [
        [round(255 * c) for c in colorsys.hsv_to_rgb(h, 1.0, 1.0)]
        for h in hues
    ]
    return colors


@VISUALIZERS.register_module()
class AEPoseLocalVisualizer(PoseLocalVisualizer):
    """mmpose's ``PoseLocalVisualizer`` that draws keypoints under numpy 2,
    and with ``color_by_tag`` draws each person in one colour picked from
    its tags.

    mmpose 1.3.2 passes each keypoint's radius as a 1-element array, which
    mmengine's OpenCV backend converts with ``int()``: a TypeError since
    numpy 2 (in ``PoseVisualizationHook``, ``tools/test.py --show-dir`` and
    ``MMPoseInferencer``'s pictures). Everything else is mmpose's.

    Note:
        - instance number: N
        - keypoint number: K
        - tag dimension: L

    Args:
        name (str): The instance name (mmengine's visualizers are named
            global instances). Defaults to ``'visualizer'``
        color_by_tag (bool): Draw each person's keypoints and skeleton in
            one colour from its mean tag (:func:`person_tag_colors`), where
            its ``pred_instances`` have ``keypoint_tags`` (N, K, L) (as
            :func:`aeplugin.apis.inference_bottomup` returns); people
            without tags keep the dataset's colours. Defaults to False
        **kwargs: The other arguments of mmpose's ``PoseLocalVisualizer``
    """

    def __init__(
        self, name: str = 'visualizer', color_by_tag: bool = False, **kwargs
    ):
        super().__init__(name=name, **kwargs)
        self.color_by_tag = color_by_tag

    def draw_circles(self, center, radius, *args, **kwargs):
        # the OpenCV backend takes one circle and int()s its radius; the
        # matplotlib backend takes an array of radii as it is
        radius_array = np.asarray(radius)
        if self.backend == 'opencv' and radius_array.size == 1:
            radius = radius_array.reshape(()).item()
        return super().draw_circles(center, radius, *args, **kwargs)

    def _draw_instances_kpts(
        self,
        image,
        instances,
        kpt_thr=0.3,
        show_kpt_idx=False,
        skeleton_style='mmpose',
    ):
        if (
            not self.color_by_tag
            or skeleton_style != 'mmpose'
            or 'keypoint_tags' not in instances
            or len(instances) == 0
        ):
            return super()._draw_instances_kpts(
                image, instances, kpt_thr, show_kpt_idx, skeleton_style
            )
        colors = person_tag_colors(
            instances.keypoint_tags, instances.get('keypoint_scores')
        )
        kpt_color, link_color = self.kpt_color, self.link_color
        num_keypoints = np.asarray(instances.keypoints).shape[1]
        num_links = len(self.skeleton) if self.skeleton is not None else 0
        try:
            for n, color in enumerate(colors):
                self.kpt_color = np.tile(color, (num_keypoints, 1))
                self.link_color = np.tile(color, (num_links, 1))
                image = super()._draw_instances_kpts(
                    image, instances[n : n + 1], kpt_thr, show_kpt_idx
                )
        finally:
            self.kpt_color, self.link_color = kpt_color, link_color
        return image
