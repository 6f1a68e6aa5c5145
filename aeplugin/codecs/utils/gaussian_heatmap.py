"""Gaussian heatmaps of keypoints, vectorized over people and keypoints."""

from typing import Tuple

import numpy as np


def generate_gaussian_heatmaps(
    heatmap_size: Tuple[int, int],
    keypoints: np.ndarray,
    keypoints_visible: np.ndarray,
    sigma: float,
    use_udp: bool = False,
) -> Tuple[np.ndarray, np.ndarray]:
    """Render the Gaussian heatmaps of keypoints (the maximum over people),
    value for value as mmpose's ``generate_gaussian_heatmaps`` or, with
    ``use_udp``, ``generate_udp_gaussian_heatmaps``, without their loops.

    A keypoint with a visibility of at least 0.5 gets a Gaussian in the
    3-sigma window around its rounded location, centred there (or at the
    keypoint itself with ``use_udp``); one whose window lies wholly off
    the heatmap gets the weight 0 instead, other weights are the
    visibilities.

    Note:

        - instance number: N
        - keypoint number: K
        - heatmap size: [W, H]

    Args:
        heatmap_size (Tuple[int, int]): Heatmap size in [W, H]
        keypoints (np.ndarray): Keypoint coordinates in the heatmap space
            in shape (N, K, 2)
        keypoints_visible (np.ndarray): Keypoint visibilities in shape
            (N, K)
        sigma (float): The Gaussian sigma in heatmap pixels
        use_udp (bool): Whether to centre the Gaussians at the sub-pixel
            keypoint locations (`UDP`_). Defaults to ``False``

    Returns:
        tuple:
        - heatmaps (np.ndarray): The heatmaps in shape (K, H, W), float32
        - keypoint_weights (np.ndarray): The target weights in shape
            (N, K), float32

    .. _`UDP`: https://arxiv.org/abs/1911.07524
    """
    W, H = heatmap_size
    K = keypoints.shape[1]
    # Rounding, truncation toward zero and the 3-sigma window follow
    # mmpose's generators so that heatmaps match theirs value for value.
    radius = sigma * 3
    patch_len = 2 * radius + 1
    patch_center = patch_len // 2
    grid = np.arange(0, patch_len, 1, dtype=np.float32)
    centers = (keypoints + 0.5).astype(np.int64)
    corners_low = (centers - radius).astype(np.int64)
    corners_high = (centers + radius + 1).astype(np.int64)

    keypoint_weights = keypoints_visible.astype(np.float32)
    labelled = keypoints_visible >= 0.5
    outside = (
        (corners_low[..., 0] >= W)
        | (corners_low[..., 1] >= H)
        | (corners_high[..., 0] < 0)
        | (corners_high[..., 1] < 0)
    )
    keypoint_weights[labelled & outside] = 0
    person_idx, kpt_idx = np.nonzero(labelled & ~outside)

    heatmaps = np.zeros((K, H, W), dtype=np.float32)
    if person_idx.size:
        if use_udp:
            subpixel = (
                keypoints[person_idx, kpt_idx] - centers[person_idx, kpt_idx]
            )
            mean_x = patch_center + subpixel[:, 0, None, None]
            mean_y = patch_center + subpixel[:, 1, None, None]
            patches = np.exp(
                -(
                    (grid[None, None, :] - mean_x) ** 2
                    + (grid[None, :, None] - mean_y) ** 2
                )
                / (2 * sigma**2)
            )
        else:
            patch = np.exp(
                -(
                    (grid[None, :] - patch_center) ** 2
                    + (grid[:, None] - patch_center) ** 2
                )
                / (2 * sigma**2)
            )
            patches = np.broadcast_to(patch, (person_idx.size,) + patch.shape)
        low = corners_low[person_idx, kpt_idx]
        high = corners_high[person_idx, kpt_idx]
        xs = low[:, 0, None] + np.arange(grid.size)
        ys = low[:, 1, None] + np.arange(grid.size)
        valid_x = (xs >= 0) & (xs < W) & (xs < high[:, 0, None])
        valid_y = (ys >= 0) & (ys < H) & (ys < high[:, 1, None])
        valid = valid_y[:, :, None] & valid_x[:, None, :]
        flat_idx = (
            kpt_idx[:, None, None] * (H * W)
            + ys[:, :, None] * W
            + xs[:, None, :]
        )
        np.maximum.at(
            heatmaps.reshape(-1),
            flat_idx[valid],
            patches[valid].astype(np.float32),
        )

    return heatmaps, keypoint_weights
