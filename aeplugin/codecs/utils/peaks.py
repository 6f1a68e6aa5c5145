"""Heatmap peaks: the max filter of the NMS and the top-k candidates."""

from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .fill_search import EXCLUDED, chunk_length

# Floats per chunk of padded maps in the NMS on CPU: the max filter's
# passes over larger arrays are memory-bound (17 maps of 512x512 filter
# 2.7x faster in chunks of 4 maps than at once); 4 MiB keeps a batch of
# 17 maps of 128x128 in one chunk.
CPU_NMS_CHUNK_ELEMENTS = 1 << 20


def max_filter(maps: Tensor, kernel_size: int) -> Tensor:
    """Maximum over the centered ``kernel_size`` x ``kernel_size`` windows,
    clipped at the borders: ``F.max_pool2d(maps, kernel_size, 1,
    kernel_size // 2)``, several times faster on CPU.

    The maps are padded with -inf once; along each axis, maxima over
    windows of doubling length are combined (3 element-wise maxima per
    axis for a window of 5).

    Note:

        - batch size: B
        - keypoint number: K
        - heatmap size: [W, H]

    Args:
        maps (Tensor): Maps in shape (B, K, H, W)
        kernel_size (int): The odd window size

    Returns:
        Tensor: The window maxima in shape (B, K, H, W)
    """
    if kernel_size == 1:
        return maps
    half = kernel_size // 2
    maxima = F.pad(maps, (half,) * 4, value=float('-inf'))
    for dim in (-1, -2):
        length = maxima.shape[dim] - 2 * half
        # maxima[i] holds the maximum over [i, i + span) along dim.
        span = 1
        while 2 * span <= kernel_size:
            size = maxima.shape[dim] - span
            maxima = torch.maximum(
                maxima.narrow(dim, 0, size), maxima.narrow(dim, span, size)
            )
            span *= 2
        maxima = torch.maximum(
            maxima.narrow(dim, 0, length),
            maxima.narrow(dim, kernel_size - span, length),
        )
    return maxima


def top_candidates(
    heatmaps: Tensor,
    tags: Tensor,
    num_tag_dims: int,
    topk: int,
    nms_kernel: int,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Take the top-k NMS peaks of every heatmap and their tags.

    Note:

        - batch size: B
        - keypoint number: K
        - candidate number: T
        - embedding tag dimension: L
        - heatmap size: [W, H]

    Args:
        heatmaps (Tensor): Heatmaps in shape (B, K, H, W)
        tags (Tensor): Tag maps in shape (B, K*L, H, W)
        num_tag_dims (int): The tag dimension L
        topk (int): The number of candidates T per heatmap (at most H*W
            are taken)
        nms_kernel (int): The odd window size of the heatmap NMS

    Returns:
        tuple:
        - vals (np.ndarray): Peak values in shape (B, K, T), descending;
            a map with fewer than T peaks ends with non-peak pixels,
            valued far below them
        - pixels (np.ndarray): Flat peak positions y*W+x in shape
            (B, K, T)
        - cand_tags (np.ndarray): Peak tags in shape (B, K, T, L)
    """
    B, K, H, W = heatmaps.shape
    L = num_tag_dims
    num_cands = min(topk, H * W)
    # Maps in chunks whose padded copies stay in cache.
    padded = (H + nms_kernel - 1) * (W + nms_kernel - 1)
    if heatmaps.device.type == 'cpu':
        chunk = max(1, CPU_NMS_CHUNK_ELEMENTS // padded)
    else:
        chunk = chunk_length(heatmaps.device, padded)
    maps = heatmaps.reshape(1, B * K, H, W)
    vals, pixels = zip(
        *(
            # part - (pooled - part) * EXCLUDED in one pass: peaks keep
            # their value, other pixels fall far below any threshold (an
            # arithmetic mask: torch's CPU comparisons and where() are
            # several times slower).
            torch.lerp(part, max_filter(part, nms_kernel), -EXCLUDED)
            .view(-1, H * W)
            .topk(num_cands, dim=1)
            for part in maps.split(chunk, dim=1)
        )
    )
    vals = torch.cat(vals).view(B, K, -1)
    pixels = torch.cat(pixels).view(B, K, -1)
    cand_tags = (
        tags.view(B, L, K, H * W)
        .gather(3, pixels[:, None].expand(-1, L, -1, -1))
        .permute(0, 2, 3, 1)
    )
    return tuple(part.cpu().numpy() for part in (vals, pixels, cand_tags))
