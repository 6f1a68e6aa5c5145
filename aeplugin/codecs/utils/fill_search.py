"""Exact search of the pixels that fill missing keypoints.

The refine step of the decoding fills a person's missing keypoint k at the
pixel minimising ``round(||tag_k - person tag||) * 100 - heatmap_k``. A
full search costs H*W per (person, keypoint) pair;
:func:`search_fill_pixels` prunes strips of pixels by bounds and returns
exactly the pixel a full search would. Float32 maps on the CPU take a path
that lays the pairs and the strips out per map and keeps the bookkeeping
of the many small arrays in NumPy (a NumPy call costs a fraction of a
torch call); other maps take an all-torch path.
"""

from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

# Length of the strips of pixels (in raster order) the missing-keypoint
# search prunes by bounds: strips need no copy to be reduced, unlike square
# blocks, and 64 pixels balance the bounds per pair against the pixels per
# surviving strip.
FILL_STRIP = 64
# Factor of the arithmetic masks: a value plus (minus) a positive excess
# times it is out of reach of a minimum (maximum).
EXCLUDED = 1e30
# Floats per chunk of the batched tensor passes: on CPU 1 MiB, small enough
# to stay in cache; on other devices 64 MiB, which only bounds the memory
# for large batches, heatmaps and crowds.
CPU_CHUNK_ELEMENTS = 1 << 18
DEVICE_CHUNK_ELEMENTS = 1 << 24
# The lower bounds shrink tag gaps by this factor, which keeps them below
# every pixel's cost despite rounding differences between two evaluations
# of a norm, and compare with the upper bound plus this margin.
_GAP_SHRINK = 1 - 1e-5
_UPPER_MARGIN = 1e-3


def _tag_distance(diffs: Tensor) -> Tensor:
    """L2 norm over the last (tag) dimension; an absolute value for L=1,
    which is cheaper and bit-identical.

    Args:
        diffs (Tensor): Tag differences in shape (..., L)

    Returns:
        Tensor: Their norms in shape (...)
    """
    if diffs.shape[-1] == 1:
        return diffs[..., 0].abs()
    return torch.linalg.vector_norm(diffs, dim=-1)


def chunk_length(device: torch.device, item_elements: int) -> int:
    """How many items of ``item_elements`` floats to process at once; on
    CPU as many as fit in cache (``CPU_CHUNK_ELEMENTS`` floats), since
    torch's element-wise passes over larger arrays are memory-bound, on
    other devices ``DEVICE_CHUNK_ELEMENTS`` floats.

    Args:
        device (torch.device): The device of the passes
        item_elements (int): The floats per item

    Returns:
        int: The number of items per chunk, at least 1
    """
    if device.type == 'cpu':
        return max(1, CPU_CHUNK_ELEMENTS // item_elements)
    return max(1, DEVICE_CHUNK_ELEMENTS // item_elements)


def _strip_rows(
    heatmaps: Tensor, tags: Tensor, num_tag_dims: int
) -> Tuple[Tensor, Tensor, Tensor]:
    """Cut every map, flattened in raster order, in strips of
    ``FILL_STRIP`` pixels.

    Padding pixels get heat -inf, hence cost +inf, and the tag of the last
    pixel, which keeps the tag boxes of the last strip valid.

    Args:
        heatmaps (Tensor): Heatmaps in shape (B, K, H, W)
        tags (Tensor): Tag maps in shape (B, K*L, H, W)
        num_tag_dims (int): The tag dimension L

    Returns:
        tuple:
        - heat_rows (Tensor): Strips of the maps ``b*K + k`` in shape
            (M*N, S), a view when no padding is needed
        - tag_rows (Tensor): Their tags in shape (M*N, L, S), a view when
            L == 1 and no padding is needed
        - tag_pixels (Tensor): Their tags pixel-major in shape
            (M*N, S, L), a view when L == 1 and no padding is needed
    """
    B, K, H, W = heatmaps.shape
    L = num_tag_dims
    num_maps = B * K
    size = FILL_STRIP
    num_strips = -(-H * W // size)
    pad = num_strips * size - H * W
    heat = heatmaps.reshape(num_maps, H * W)
    tag = tags.view(B, L, K, H * W).transpose(1, 2).reshape(num_maps, L, -1)
    if pad:
        heat = F.pad(heat, (0, pad), value=float('-inf'))
        tag = torch.cat([tag, tag[:, :, -1:].expand(-1, -1, pad)], 2)
    tag_rows = tag.view(num_maps, L, num_strips, size).transpose(1, 2)
    return (
        heat.reshape(-1, size),
        tag_rows.reshape(-1, L, size),
        tag.transpose(1, 2).reshape(-1, size, L),
    )


def _strip_bounds(
    rows: Tuple[Tensor, Tensor, Tensor], num_maps: int
) -> Tuple[Tensor, Tensor, Tensor]:
    """The heat maximum and tag box of every strip, per map.

    Note:

        - map number: M
        - strip number per map: N
        - embedding tag dimension: L

    Args:
        rows (tuple): The strips of :func:`_strip_rows`
        num_maps (int): The number of maps M

    Returns:
        tuple:
        - heat_max (Tensor): Strip heat maxima in shape (M, N)
        - tag_min (Tensor): Strip tag minima in shape (M, N, L)
        - tag_max (Tensor): Strip tag maxima in shape (M, N, L)
    """
    heat_rows, tag_rows, _ = rows
    L = tag_rows.shape[1]
    return (
        heat_rows.amax(dim=-1).view(num_maps, -1),
        tag_rows.amin(dim=-1).view(num_maps, -1, L),
        tag_rows.amax(dim=-1).view(num_maps, -1, L),
    )


def _peak_upper_bounds(*inputs: Tensor) -> Tensor:
    """The least cost of each pair at the heatmap peaks of its map, a cost
    its optimum does not exceed.

    Args:
        inputs (Tensor): The arguments of :func:`search_fill_pixels`

    Returns:
        Tensor: The upper bound of each pair in shape (P, )
    """
    heatmaps, tags, pair_maps, pair_tags, cand_pixels = inputs
    B, K, H, W = heatmaps.shape
    L = pair_tags.shape[1]
    cand_pixels = cand_pixels.reshape(B * K, -1)
    cand_heat = heatmaps.reshape(B * K, H * W).gather(1, cand_pixels)
    cand_tags = (
        tags.view(B, L, K, H * W)
        .transpose(1, 2)
        .reshape(B * K, L, -1)
        .gather(2, cand_pixels[:, None].expand(-1, L, -1))
        .transpose(1, 2)
    )
    return (
        _tag_distance(
            cand_tags.index_select(0, pair_maps) - pair_tags[:, None]
        )
        .round_()
        .mul_(100)
        .sub_(cand_heat.index_select(0, pair_maps))
        .amin(dim=1)
    )


def search_fill_pixels(
    heatmaps: Tensor,
    tags: Tensor,
    pair_maps: Tensor,
    pair_tags: Tensor,
    cand_pixels: Tensor,
) -> Tensor:
    """Find, for each (map, tag) pair, the pixel minimising
    ``round(||tag map - tag||) * 100 - heatmap``, the first one in raster
    order on ties, exactly as a search over all pixels would.

    A full search costs P*H*W. Instead each map, flattened in raster order,
    is cut into strips of ``FILL_STRIP`` pixels. A strip's tag box and heat
    maximum bound the cost of its pixels from below, the cost at the map's
    heatmap peaks bounds the optimum from above, and only the strips whose
    lower bound reaches the upper bound are searched pixel by pixel.

    Note:

        - batch size: B
        - keypoint number: K
        - pair number: P
        - candidate number: T
        - embedding tag dimension: L
        - heatmap size: [W, H]

    Args:
        heatmaps (Tensor): Finite heatmaps in shape (B, K, H, W)
        tags (Tensor): Finite tag maps in shape (B, K*L, H, W)
        pair_maps (Tensor): The map ``b*K + k`` of each pair in shape (P, )
        pair_tags (Tensor): The tag of each pair in shape (P, L)
        cand_pixels (Tensor): Flat positions y*W+x of pixels of each map
            that likely score well (its heatmap peaks) in shape (B, K, T)

    Returns:
        Tensor: The flat position y*W+x of each pair's pixel in shape (P, )
    """
    if pair_tags.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=heatmaps.device)
    inputs = (heatmaps, tags, pair_maps, pair_tags, cand_pixels)
    if heatmaps.device.type == 'cpu' and all(
        values.dtype == torch.float32 for values in (heatmaps, tags, pair_tags)
    ):
        # imported here: the CPU module reads this one's constants
        from .fill_search_cpu import search_on_cpu

        return search_on_cpu(*(values.detach() for values in inputs))
    return _search_on_device(
        _strip_rows(heatmaps, tags, pair_tags.shape[1]),
        heatmaps.shape,
        pair_maps,
        pair_tags,
        _peak_upper_bounds(*inputs),
    )


def _search_on_device(
    rows: Tuple[Tensor, Tensor, Tensor],
    shape: torch.Size,
    pair_maps: Tensor,
    pair_tags: Tensor,
    upper: Tensor,
) -> Tensor:
    """The search with torch alone, for maps on a device other than the
    CPU: the bounds of every pair against every strip of its map.

    Args:
        rows (tuple): The strips of :func:`_strip_rows`
        shape (torch.Size): The heatmaps' shape (B, K, H, W)
        pair_maps, pair_tags: As in :func:`search_fill_pixels`
        upper (Tensor): The pairs' bounds of :func:`_peak_upper_bounds`

    Returns:
        Tensor: As :func:`search_fill_pixels`
    """
    heat_rows, tag_rows, tag_pixels = rows
    B, K, H, W = shape
    L = pair_tags.shape[1]
    device = heat_rows.device
    num_maps = B * K
    size = heat_rows.shape[1]
    num_strips = heat_rows.shape[0] // num_maps
    steps = torch.arange(size, device=device, dtype=torch.float32)
    heat_max, tag_min, tag_max = _strip_bounds(rows, num_maps)

    num_pairs = pair_tags.shape[0]
    best_cost = torch.full((num_pairs,), float('inf'), device=device)
    # Per searched (pair, strip): its pair, its best cost and the first
    # pixel at that cost.
    searched = []
    pair_chunk = chunk_length(device, num_strips * L)
    strip_chunk = chunk_length(device, size * L)
    for start in range(0, num_pairs, pair_chunk):
        maps = pair_maps[start : start + pair_chunk]
        centers = pair_tags[start : start + pair_chunk, None, :]
        gaps = torch.maximum(
            tag_min.index_select(0, maps) - centers,
            centers - tag_max.index_select(0, maps),
        ).clamp_(min=0)
        lower = (
            _tag_distance(gaps)
            .mul_(_GAP_SHRINK)
            .round_()
            .mul_(100)
            .sub_(heat_max.index_select(0, maps))
        )
        pair_idx, strip_idx = torch.nonzero(
            lower <= upper[start : start + pair_chunk, None] + _UPPER_MARGIN,
            as_tuple=True,
        )
        for part in range(0, pair_idx.numel(), strip_chunk):
            pairs = pair_idx[part : part + strip_chunk] + start
            strips = strip_idx[part : part + strip_chunk]
            found = pair_maps.index_select(0, pairs) * num_strips + strips
            costs = (
                _tag_distance(
                    tag_pixels.index_select(0, found)
                    - pair_tags.index_select(0, pairs)[:, None]
                )
                .round_()
                .mul_(100)
                .sub_(heat_rows.index_select(0, found))
            )
            strip_best = costs.amin(dim=1)
            # The first step at the strip's best cost: costs above it push
            # their steps past the strip. Strips run in raster order, so a
            # pixel's flat position is its strip's first one plus its step.
            step = torch.add(
                steps, costs - strip_best[:, None], alpha=EXCLUDED
            ).amin(dim=1)
            best_cost.scatter_reduce_(0, pairs, strip_best, 'amin')
            searched.append((pairs, strip_best, strips * size + step.long()))

    # Among its strips at its best cost a pair gets the first pixel in
    # raster order.
    best_pixel = torch.full((num_pairs,), H * W, device=device)
    for pairs, strip_best, pixels in searched:
        first = torch.where(
            strip_best == best_cost.index_select(0, pairs), pixels, H * W
        )
        best_pixel.scatter_reduce_(0, pairs, first, 'amin')
    return best_pixel


def fill_missing_keypoints(
    heatmaps: Tensor,
    tags: Tensor,
    cand_pixels: np.ndarray,
    batch_idx: np.ndarray,
    positions: np.ndarray,
    scores: np.ndarray,
    group_tags: np.ndarray,
) -> Tuple[np.ndarray, np.ndarray]:
    """Fill the missing keypoints of every instance of the batch.

    A missing keypoint k of an instance goes to the pixel minimising
    ``round(||tag_k - instance tag||) * 100 - heatmap_k`` (the first
    such pixel in raster order), with the heatmap value there as its
    score; see :func:`search_fill_pixels`.

    Note:

        - total instance number: G (all images)
        - B, K, T, L, [W, H]: as in :func:`search_fill_pixels`

    Args:
        heatmaps, tags, cand_pixels: As in :func:`search_fill_pixels`
            (``cand_pixels`` as an array)
        batch_idx (np.ndarray): The image of each instance in shape (G, )
        positions (np.ndarray): Flat keypoint positions y*W+x in shape
            (G, K), -1 where missing
        scores (np.ndarray): Keypoint scores in shape (G, K)
        group_tags (np.ndarray): Instance tags in shape (G, L)

    Returns:
        tuple:
        - positions (np.ndarray): ``positions``, filled in place, in
            shape (G, K)
        - scores (np.ndarray): ``scores``, filled in place, in shape
            (G, K)
    """
    K = heatmaps.shape[1]
    group_idx, kpt_idx = np.nonzero(positions < 0)
    if group_idx.size == 0:
        return positions, scores
    device = heatmaps.device
    pair_maps = torch.from_numpy(batch_idx[group_idx] * K + kpt_idx).to(device)
    pair_tags = torch.from_numpy(group_tags[group_idx]).to(
        device, torch.float32
    )
    pixels = search_fill_pixels(
        heatmaps,
        tags,
        pair_maps,
        pair_tags,
        torch.from_numpy(cand_pixels).to(device),
    )
    H, W = heatmaps.shape[2:]
    found_scores = heatmaps.reshape(-1).index_select(
        0, pair_maps * (H * W) + pixels
    )

    positions[group_idx, kpt_idx] = pixels.cpu().numpy()
    scores[group_idx, kpt_idx] = found_scores.cpu().numpy()
    return positions, scores
