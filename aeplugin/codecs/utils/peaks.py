"""Heatmap peaks: the max filter of the NMS and the top-k candidates."""

from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .strips import EXCLUDED, chunk_length, cut_strips

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


def top_values(values: Tensor, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest values of each row, descending, the first in order
    among equal values, and their positions.

    The rows are cut in strips (:func:`~.strips.cut_strips`); the strips whose
    maximum reaches the k-th largest strip maximum hold the k largest
    values (k strips hold k values at least that large), so only their
    values that reach it are ranked. torch's top-k over whole rows costs
    several times more on CPU, and orders equal values arbitrarily.

    Note:

        - row number: M
        - row length: S

    Args:
        values (Tensor): Values (no NaN) in shape (M, S)
        k (int): The number of values per row, at most S

    Returns:
        tuple:
        - top (np.ndarray): The values in shape (M, k)
        - positions (np.ndarray): Their positions in shape (M, k)
    """
    M = values.shape[0]
    cut = cut_strips(values, float('-inf'))
    if cut.shape[1] <= k:
        top, positions = values.sort(dim=1, descending=True, stable=True)
        return top[:, :k].cpu().numpy(), positions[:, :k].cpu().numpy()
    strip_max = cut.amax(dim=-1)
    kth = strip_max.topk(k, dim=1).values[:, -1:]
    if values.device.type != 'cpu':
        return top_values_in_strips(cut, strip_max >= kth, k)
    num_strips, length = cut.shape[1:]
    kth = kth.numpy()
    # Flat indices and divmod: NumPy's 2-D nonzero costs several times
    # more on these small arrays.
    chosen = np.flatnonzero(strip_max.numpy() >= kth)
    rows = chosen // num_strips
    chosen_values = cut.numpy().reshape(-1, length)[chosen]
    picked = np.flatnonzero(chosen_values >= kth[rows])
    pick = picked // length
    rows = rows[pick]
    top = chosen_values.reshape(-1)[picked]
    positions = chosen[pick] % num_strips * length + picked % length
    # By row, then value (descending), then position; every row has k
    # values at least its k-th strip maximum.
    order = np.lexsort((positions, -top, rows))
    counts = np.bincount(rows, minlength=M)
    firsts = order[((counts.cumsum() - counts)[:, None] + np.arange(k))]
    return top[firsts], positions[firsts]


def top_values_in_strips(
    cut: Tensor, selected: Tensor, k: int
) -> Tuple[np.ndarray, np.ndarray]:
    """:func:`top_values` with torch alone, for a device other than the
    CPU: the selected strips ranked by a stable sort.

    Note:

        - row number: M
        - strip number: N
        - strip length: S

    Args:
        cut (Tensor): The rows in strips in shape (M, N, S), the last
            padded with -inf
        selected (Tensor): Whether a strip may hold a top value in shape
            (M, N)
        k (int): The number of values per row

    Returns:
        tuple: As :func:`top_values`
    """
    M, _, length = cut.shape
    width = int(selected.sum(dim=1).max())
    # The selected strips of each row first, in raster order; those after
    # a row's selection are pushed to -inf, after all of it.
    order = torch.sort(
        (~selected).to(torch.uint8), dim=1, stable=True
    ).indices[:, :width]
    cand = cut.gather(1, order[..., None].expand(-1, -1, length))
    cand = cand.masked_fill(
        ~selected.gather(1, order)[..., None], float('-inf')
    ).view(M, -1)
    top, ranked = cand.sort(dim=1, descending=True, stable=True)
    ranked = ranked[:, :k]
    positions = order.gather(1, ranked // length) * length + ranked % length
    return top[:, :k].cpu().numpy(), positions.cpu().numpy()


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
        - vals (np.ndarray): Peak values in shape (B, K, T), descending,
            the first in raster order among equal values (see
            :func:`top_values`); a map with fewer than T peaks ends with
            non-peak pixels, valued far below them
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
            top_values(
                torch.lerp(part, max_filter(part, nms_kernel), -EXCLUDED).view(
                    -1, H * W
                ),
                num_cands,
            )
            for part in maps.split(chunk, dim=1)
        )
    )
    vals = np.concatenate(vals).reshape(B, K, -1)
    pixels = np.concatenate(pixels).reshape(B, K, -1)
    cand_tags = (
        tags.view(B, L, K, H * W)
        .gather(
            3,
            torch.from_numpy(pixels)
            .to(tags.device)[:, None]
            .expand(-1, L, -1, -1),
        )
        .permute(0, 2, 3, 1)
    )
    return vals, pixels, cand_tags.cpu().numpy()
