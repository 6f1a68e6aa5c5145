"""Heatmap peaks: the NMS and the top-k candidates above the keypoint
threshold."""

from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .strips import EXCLUDED, chunk_length, cut_strips

# The tiles of the NMS on the CPU, rows x columns: only the tiles whose
# maximum is above the keypoint threshold hold candidates, a small part of
# the tiles of ordinary maps. Tiles of 8 x 32 pixels keep both the tiles
# searched (peaks are a few pixels wide at 128x128, a few tens at 512x512)
# and the window margin read around each tile small.
NMS_TILE = (8, 32)
# Above this fraction of tiles to search (a low threshold, a noisy
# background) the NMS of whole maps costs less: each tile is read with its
# margin, and its peaks are ranked in NumPy.
SPARSE_NMS_MAX_FRACTION = 0.5


def sliding_max(values: Tensor, kernel_size: int, dim: int) -> Tensor:
    """Maximum over every window of ``kernel_size`` consecutive values
    along ``dim`` (the windows inside ``values`` only): maxima over
    windows of doubling length are combined, 3 element-wise maxima for a
    window of 5.

    Args:
        values (Tensor): Values of length S along ``dim``
        kernel_size (int): The window length, at most S
        dim (int): The dimension of the windows

    Returns:
        Tensor: The window maxima, of length ``S - kernel_size + 1``
        along ``dim``
    """
    length = values.shape[dim] - kernel_size + 1
    # maxima[i] holds the maximum over [i, i + span) along dim.
    maxima, span = values, 1
    while 2 * span <= kernel_size:
        size = maxima.shape[dim] - span
        maxima = torch.maximum(
            maxima.narrow(dim, 0, size), maxima.narrow(dim, span, size)
        )
        span *= 2
    return torch.maximum(
        maxima.narrow(dim, 0, length),
        maxima.narrow(dim, kernel_size - span, length),
    )


def max_filter(maps: Tensor, kernel_size: int) -> Tensor:
    """Maximum over the centered ``kernel_size`` x ``kernel_size`` windows,
    clipped at the borders: ``F.max_pool2d(maps, kernel_size, 1,
    kernel_size // 2)``, several times faster on CPU (the maps are padded
    with -inf once, then filtered by :func:`sliding_max` along each axis).

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
    padded = F.pad(maps, (kernel_size // 2,) * 4, value=float('-inf'))
    return sliding_max(sliding_max(padded, kernel_size, -1), kernel_size, -2)


def tile_peaks(
    maps: Tensor, kernel_size: int, threshold: float, lower_peaks: bool
) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The NMS peaks of float32 maps on the CPU in the tiles
    (``NMS_TILE``) whose maximum is above ``threshold``: every peak above
    it, and with ``lower_peaks`` the lower peaks of those tiles, which
    bound the fill's search (:mod:`fill_search`).

    A peak is a pixel equal to the maximum of its ``kernel_size`` window
    clipped at the borders, as :func:`max_filter` has it. Each searched
    tile is read with a margin of ``kernel_size // 2`` pixels, whose
    indices are clamped to the map: a clamped index repeats a pixel of the
    clipped window, which leaves its maximum unchanged.

    Note:

        - map number: M
        - peak number: P
        - map size: [W, H], multiples of ``NMS_TILE``

    Args:
        maps (Tensor): Finite float32 maps on the CPU in shape (M, H, W)
        kernel_size (int): The odd window size of the NMS
        threshold (float): The value a tile's maximum must exceed
        lower_peaks (bool): Whether to return the peaks of the searched
            tiles at or below ``threshold`` too

    Returns:
        tuple | None: ``None`` if more than ``SPARSE_NMS_MAX_FRACTION`` of
        the tiles are to be searched; otherwise, in no particular order:

        - peak_maps (np.ndarray): The map of each peak in shape (P, )
        - values (np.ndarray): Its value in shape (P, )
        - pixels (np.ndarray): Its flat position y*W+x in shape (P, )
    """
    M, H, W = maps.shape
    tile_h, tile_w = NMS_TILE
    grid_h, grid_w = H // tile_h, W // tile_w
    tile_max = (
        maps.view(M, grid_h, tile_h, W)
        .amax(dim=2)
        .view(M, grid_h, grid_w, tile_w)
        .amax(dim=-1)
    )
    tiles = np.flatnonzero(tile_max.numpy() > threshold)
    if len(tiles) > SPARSE_NMS_MAX_FRACTION * tile_max.numel():
        return None
    tile_maps, tile_idx = np.divmod(tiles, grid_h * grid_w)
    top, left = np.divmod(tile_idx, grid_w)
    top *= tile_h
    left *= tile_w
    half = kernel_size // 2
    rows = np.clip(top[:, None] + np.arange(-half, tile_h + half), 0, H - 1)
    cols = np.clip(left[:, None] + np.arange(-half, tile_w + half), 0, W - 1)
    rows += tile_maps[:, None] * H
    windows = maps.numpy().reshape(-1)[
        (rows * W)[:, :, None] + cols[:, None, :]
    ]
    window_max = sliding_max(
        sliding_max(torch.from_numpy(windows), kernel_size, 1),
        kernel_size,
        2,
    ).numpy()
    inner = windows[:, half : half + tile_h, half : half + tile_w]
    peaks = inner == window_max
    if not lower_peaks:
        peaks &= inner > threshold
    # Flat indices: NumPy's 3-D nonzero costs several times more.
    tile, step = np.divmod(np.flatnonzero(peaks), tile_h * tile_w)
    row, col = np.divmod(step, tile_w)
    pixels = (top[tile] + row) * W + left[tile] + col
    return tile_maps[tile], inner[tile, row, col], pixels


def rank_peaks(
    peak_maps: np.ndarray,
    values: np.ndarray,
    pixels: np.ndarray,
    num_maps: int,
    k: int,
) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest peaks of each map, by value (descending), then
    raster position; a map with fewer ends with value -inf at pixel 0.

    Note:

        - map number: M
        - peak number: P

    Args:
        peak_maps, values, pixels: As :func:`tile_peaks` returns them
        num_maps (int): The number of maps M
        k (int): The number of peaks per map

    Returns:
        tuple:
        - top (np.ndarray): The values in shape (M, k)
        - positions (np.ndarray): Their flat positions in shape (M, k)
    """
    order = np.lexsort((pixels, -values, peak_maps))
    counts = np.bincount(peak_maps, minlength=num_maps)
    ranks = (
        np.arange(len(order)) - (counts.cumsum() - counts)[peak_maps[order]]
    )
    kept = ranks < k
    order, ranks = order[kept], ranks[kept]
    top = np.full((num_maps, k), -np.inf, np.float32)
    positions = np.zeros((num_maps, k), np.int64)
    top[peak_maps[order], ranks] = values[order]
    positions[peak_maps[order], ranks] = pixels[order]
    return top, positions


def top_values(values: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """The ``k`` largest values of each row, descending, the first in order
    among equal values, and their positions.

    The rows are cut in strips (:func:`~.strips.cut_strips`); the strips
    whose maximum reaches the k-th largest strip maximum hold the k largest
    values (k strips hold k values at least that large), so only they are
    ranked, by a stable sort. torch's top-k over whole rows orders equal
    values arbitrarily.

    Note:

        - row number: M
        - row length: S

    Args:
        values (Tensor): Values (no NaN) in shape (M, S)
        k (int): The number of values per row, at most S

    Returns:
        tuple:
        - top (Tensor): The values in shape (M, k)
        - positions (Tensor): Their positions in shape (M, k)
    """
    M = values.shape[0]
    cut = cut_strips(values, float('-inf'))
    length = cut.shape[2]
    strip_max = cut.amax(dim=-1)
    if cut.shape[1] <= k:
        selected = torch.ones_like(strip_max, dtype=torch.bool)
    else:
        selected = strip_max >= strip_max.topk(k, dim=1).values[:, -1:]
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
    return top[:, :k], positions


def top_candidates(
    heatmaps: Tensor,
    tags: Tensor,
    num_tag_dims: int,
    topk: int,
    nms_kernel: int,
    threshold: float,
    lower_peaks: bool = True,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Take the top-k NMS peaks above ``threshold`` of every heatmap and
    their tags.

    On the CPU the peaks are searched in the tiles above the threshold
    (:func:`tile_peaks`); elsewhere, or where most tiles are, the whole
    maps are filtered (:func:`max_filter`) and ranked (:func:`top_values`).
    Both give the same candidates.

    Note:

        - batch size: B
        - keypoint number: K
        - candidate number: T
        - embedding tag dimension: L
        - heatmap size: [W, H]

    Args:
        heatmaps (Tensor): Finite heatmaps in shape (B, K, H, W)
        tags (Tensor): Tag maps in shape (B, K*L, H, W)
        num_tag_dims (int): The tag dimension L
        topk (int): The number of candidates T per heatmap (at most H*W
            are taken)
        nms_kernel (int): The odd window size of the heatmap NMS
        threshold (float): The value candidates must exceed
        lower_peaks (bool): Whether the pixels after a map's candidates
            are lower peaks where the search found some (what the fill
            needs), or may be any pixel. Defaults to ``True``

    Returns:
        tuple:
        - vals (np.ndarray): Peak values in shape (B, K, T), descending,
            the first in raster order among equal values; a map with
            fewer than T peaks above ``threshold`` ends with -inf
        - pixels (np.ndarray): Flat peak positions y*W+x in shape
            (B, K, T); where the value is -inf, a lower peak of the map
            (likely a low fill cost for a tag near its own) or pixel 0
        - cand_tags (np.ndarray): Peak tags in shape (B, K, T, L)
    """
    B, K, H, W = heatmaps.shape
    L = num_tag_dims
    num_cands = min(topk, H * W)
    maps = heatmaps.reshape(B * K, H, W)
    peaks = None
    if (
        heatmaps.device.type == 'cpu'
        and heatmaps.dtype == torch.float32
        and H % NMS_TILE[0] == 0
        and W % NMS_TILE[1] == 0
    ):
        peaks = tile_peaks(maps, nms_kernel, threshold, lower_peaks)
    if peaks is not None:
        vals, pixels = rank_peaks(*peaks, B * K, num_cands)
    else:
        vals, pixels = _filtered_top_values(maps, num_cands, nms_kernel)
    vals[vals <= threshold] = -np.inf
    vals = vals.reshape(B, K, -1)
    pixels = pixels.reshape(B, K, -1)
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


def _filtered_top_values(
    maps: Tensor, k: int, nms_kernel: int
) -> Tuple[np.ndarray, np.ndarray]:
    """The top-k values of the NMS-masked maps, in chunks of maps whose
    padded copies stay in cache (:func:`~.strips.chunk_length`).

    Args:
        maps (Tensor): Heatmaps in shape (M, H, W)
        k (int): The number of values per map
        nms_kernel (int): The odd window size of the NMS

    Returns:
        tuple: The values and flat positions, as :func:`top_values`, as
        arrays; non-peaks rank far below every peak
    """
    M, H, W = maps.shape
    padded = (H + nms_kernel - 1) * (W + nms_kernel - 1)
    tops = [
        # part - (pooled - part) * EXCLUDED in one pass: peaks keep their
        # value, other pixels fall far below any threshold (an arithmetic
        # mask: torch's CPU comparisons and where() are several times
        # slower).
        top_values(
            torch.lerp(part, max_filter(part, nms_kernel), -EXCLUDED).view(
                -1, H * W
            ),
            k,
        )
        for part in maps[None].split(chunk_length(maps.device, padded), 1)
    ]
    return (
        torch.cat([top for top, _ in tops]).cpu().numpy(),
        torch.cat([positions for _, positions in tops]).cpu().numpy(),
    )
