"""Flat heatmap position indices of keypoints, the targets of the tag
loss."""

from typing import Tuple

import numpy as np


def encode_keypoint_indices(
    heatmap_size: Tuple[int, int],
    keypoints: np.ndarray,
    keypoints_visible: np.ndarray,
) -> np.ndarray:
    """Index each keypoint's rounded heatmap pixel, as mmpose's
    ``AssociativeEmbedding`` does.

    Args:
        heatmap_size, keypoints, keypoints_visible: As in
            :func:`generate_gaussian_heatmaps`: [W, H], (N, K, 2) in the
            heatmap space and (N, K)

    Returns:
        np.ndarray: The indices [i, v] in shape (N, K, 2), int64, with
        :math:`i=y*W+x` the flat position of the rounded keypoint and v 1
        where the keypoint is visible (above 0.5) and its pixel on the
        heatmap, else 0
    """
    W, H = heatmap_size
    centers = (keypoints + 0.5).astype(np.int64)
    x, y = centers[..., 0], centers[..., 1]
    return np.stack(
        [
            y * W + x,
            (keypoints_visible > 0.5)
            & (x >= 0)
            & (x < W)
            & (y >= 0)
            & (y < H),
        ],
        axis=-1,
    ).astype(np.int64)
