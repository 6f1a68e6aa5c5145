"""Sub-pixel refinement of keypoints at heatmap pixels: a quarter pixel
toward the higher neighbour, or DARK-UDP offsets on the log-blurred
heatmaps."""

from typing import List, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def locate_keypoints(
    heatmaps: Tensor,
    batch_idx: np.ndarray,
    positions: np.ndarray,
    adjust: bool = True,
    dark_udp: bool = False,
    blur_kernel_size: int = 3,
    center_shift: float = 0.0,
) -> np.ndarray:
    """Turn flat positions into (adjusted, shifted) heatmap coordinates.

    Note:

        - batch size: B
        - instance number: G (all images)
        - keypoint number: K
        - heatmap size: [W, H]

    Args:
        heatmaps (Tensor): Heatmaps in shape (B, K, H, W)
        batch_idx (np.ndarray): The image of each instance in shape (G, )
        positions (np.ndarray): Flat keypoint positions y*W+x in shape
            (G, K), -1 where missing
        adjust (bool): Whether to add sub-pixel offsets: by
            :func:`quarter_offsets`, or :func:`dark_udp_offsets` with
            ``dark_udp``. Defaults to ``True``
        dark_udp (bool): Whether to adjust by DARK-UDP. Defaults to
            ``False``
        blur_kernel_size (int): The odd Gaussian kernel size of DARK-UDP.
            Defaults to 3
        center_shift (float): The offset added to every present keypoint.
            Defaults to 0.0

    Returns:
        np.ndarray: Keypoint coordinates in the heatmap space in shape
        (G, K, 2), float64; a missing keypoint is at (0, 0)
    """
    W = heatmaps.shape[3]
    present = positions >= 0
    safe = np.where(present, positions, 0)
    keypoints = np.stack([safe % W, safe // W], axis=-1).astype(np.float64)
    if positions.size == 0:
        return keypoints
    if adjust:
        if dark_udp:
            offsets = dark_udp_offsets(
                heatmaps, batch_idx, safe, blur_kernel_size
            )
        else:
            offsets = quarter_offsets(heatmaps, batch_idx, safe)
        keypoints += offsets
    keypoints += center_shift
    keypoints[~present] = 0
    return keypoints


def quarter_offsets(
    heatmaps: Tensor, batch_idx: np.ndarray, positions: np.ndarray
) -> np.ndarray:
    """Quarter-pixel offsets toward the higher neighbour along x and y;
    zero along an axis where either neighbour is outside the heatmap or
    both are equal (mmpose's ``refine_keypoints``, but for its borders).

    Note:

        - batch size: B
        - instance number: G (all images)
        - keypoint number: K
        - heatmap size: [W, H]

    Args:
        heatmaps (Tensor): Heatmaps in shape (B, K, H, W)
        batch_idx (np.ndarray): The image of each instance in shape (G, )
        positions (np.ndarray): Flat keypoint positions y*W+x in shape
            (G, K), all valid

    Returns:
        np.ndarray: The offsets (dx, dy), each -0.25, 0 or 0.25, in shape
        (G, K, 2)
    """
    H, W = heatmaps.shape[2:]
    right, left, below, above = gather_neighbours(
        heatmaps,
        batch_idx,
        positions,
        [(1, 0), (-1, 0), (0, 1), (0, -1)],
        pad=0,
    )
    xs, ys = positions % W, positions // W
    dx = np.where((xs > 0) & (xs < W - 1), right - left, 0)
    dy = np.where((ys > 0) & (ys < H - 1), below - above, 0)
    return np.stack([np.sign(dx), np.sign(dy)], axis=-1) * 0.25


def dark_udp_offsets(
    heatmaps: Tensor,
    batch_idx: np.ndarray,
    positions: np.ndarray,
    blur_kernel_size: int,
) -> np.ndarray:
    """DARK-UDP offsets (one Newton step on the log of the blurred
    heatmap), as mmpose's ``refine_keypoints_dark_udp``; 0 where the
    Hessian is singular.

    Args:
        heatmaps, batch_idx, positions: As in :func:`quarter_offsets`
        blur_kernel_size (int): The odd size of the Gaussian blur kernel

    Returns:
        np.ndarray: The offsets (dx, dy) in shape (G, K, 2), float64
    """
    log_maps = F.pad(
        log_blur(heatmaps, blur_kernel_size), (1, 1, 1, 1), mode='replicate'
    )
    (center, right, below, below_right, above_left, left, above) = (
        gather_neighbours(
            log_maps,
            batch_idx,
            positions,
            [(0, 0), (1, 0), (0, 1), (1, 1), (-1, -1), (-1, 0), (0, -1)],
            pad=1,
        )
    )
    dx = 0.5 * (right - left)
    dy = 0.5 * (below - above)
    eps = np.finfo(np.float32).eps
    dxx = right - 2 * center + left + eps
    dyy = below - 2 * center + above + eps
    dxy = 0.5 * (
        below_right - right - below + 2 * center - left - above + above_left
    )
    det = dxx * dyy - dxy**2
    with np.errstate(divide='ignore', invalid='ignore'):
        offset_x = -(dyy * dx - dxy * dy) / det
        offset_y = -(dxx * dy - dxy * dx) / det
    offsets = np.stack([offset_x, offset_y], axis=-1)
    # A singular Hessian (flat log-heatmap) gives no usable step.
    return np.where(np.isfinite(offsets), offsets, 0)


def log_blur(heatmaps: Tensor, kernel_size: int) -> Tensor:
    """Blur each heatmap with OpenCV's Gaussian kernel over a zero
    border, rescale it to its original maximum and take the log of its
    clip to [1e-3, 50], as mmpose's DARK-UDP modulation.

    Note:

        - batch size: B
        - keypoint number: K
        - heatmap size: [W, H]

    Args:
        heatmaps (Tensor): Heatmaps in shape (B, K, H, W)
        kernel_size (int): The odd size of the Gaussian kernel

    Returns:
        Tensor: The log-blurred heatmaps in shape (B, K, H, W)
    """
    B, K, H, W = heatmaps.shape
    kernel_1d = torch.from_numpy(
        cv2.getGaussianKernel(kernel_size, 0).astype(np.float32)[:, 0]
    ).to(heatmaps.device)
    kernel = (kernel_1d[:, None] * kernel_1d[None, :])[None, None]
    blurred = F.conv2d(
        heatmaps.reshape(B * K, 1, H, W), kernel, padding=kernel_size // 2
    ).view(B, K, H, W)
    original_max = heatmaps.amax(dim=(2, 3), keepdim=True)
    blurred_max = blurred.amax(dim=(2, 3), keepdim=True)
    # An all-zero heatmap blurs to zero: leave it unscaled.
    ratio = torch.where(
        blurred_max != 0,
        original_max / blurred_max,
        torch.ones_like(blurred_max),
    )
    return (blurred * ratio).clamp(1e-3, 50.0).log()


def gather_neighbours(
    maps: Tensor,
    batch_idx: np.ndarray,
    positions: np.ndarray,
    steps: Sequence[Tuple[int, int]],
    pad: int,
) -> List[np.ndarray]:
    """Read maps at integer offsets (dx, dy) from the given positions;
    ``maps`` is padded by ``pad`` pixels on each side of the (H, W) ones
    the positions refer to, and reads beyond its border are clipped to it.

    Note:

        - batch size: B
        - instance number: G (all images)
        - keypoint number: K
        - offset number: S
        - heatmap size: [W, H]

    Args:
        maps (Tensor): Padded maps in shape (B, K, H + 2*pad, W + 2*pad)
        batch_idx (np.ndarray): The image of each instance in shape (G, )
        positions (np.ndarray): Flat keypoint positions y*W+x in the
            unpadded maps in shape (G, K)
        steps (Sequence[Tuple[int, int]]): The S offsets (dx, dy)
        pad (int): The padding of ``maps`` on each side

    Returns:
        List[np.ndarray]: Per offset the values, float64, in shape (G, K)
    """
    B, K, padded_h, padded_w = maps.shape
    W = padded_w - 2 * pad
    xs = positions % W + pad
    ys = positions // W + pad
    map_starts = (batch_idx[:, None] * K + np.arange(K)) * (
        padded_h * padded_w
    )
    # Clipped rows and columns once per offset (np.clip is slow on
    # small arrays).
    columns = {
        dx: np.minimum(np.maximum(xs + dx, 0), padded_w - 1)
        for dx in {dx for dx, _ in steps}
    }
    rows = {
        dy: np.minimum(np.maximum(ys + dy, 0), padded_h - 1) * padded_w
        + map_starts
        for dy in {dy for _, dy in steps}
    }
    flat = np.stack([rows[dy] + columns[dx] for dx, dy in steps])
    values = (
        maps.reshape(-1)
        .index_select(0, torch.from_numpy(flat.reshape(-1)).to(maps.device))
        .cpu()
        .numpy()
        .astype(np.float64)
        .reshape(flat.shape)
    )
    return list(values)
