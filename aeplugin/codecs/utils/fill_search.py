"""Exact search of the pixels that fill missing keypoints.

The refine step of the decoding fills a person's missing keypoint k at the
pixel minimising ``round(||tag_k - person tag||) * 100 - heatmap_k``
(:mod:`fill_costs`). :func:`search_fill_pixels` returns exactly the pixel a
search over all pixels would, the first one in raster order on ties, by
the cheapest of three searches for the work at hand:

- few (pair, pixel) costs: all of them, in a few tensor operations
  (:func:`search_dense`);
- more, on float32 maps on the CPU: strips pruned by bounds, with the
  bookkeeping in NumPy (:func:`fill_search_cpu.search_on_cpu`);
- more, elsewhere: the same strips and bounds in torch alone
  (:func:`search_on_device`).
"""

from typing import Tuple

import numpy as np
import torch
from torch import Tensor

from .fill_costs import (
    GAP_SHRINK,
    UPPER_MARGIN,
    peak_upper_bounds,
    tag_distance,
)
from .fill_search_cpu import search_on_cpu
from .strips import EXCLUDED, MapStrips, chunk_length

# When the search computes every (pair, pixel) cost: the strips' bounds
# cost a few hundred microseconds of small operations per call and read
# every map, the full search reads the pairs' maps only. On one CPU thread
# the full search is the faster one up to about 8 pairs on 128x128 maps
# and up to about a quarter as many pairs as maps on 512x512 ones.
DENSE_SEARCH_ELEMENTS = 1 << 17
DENSE_SEARCH_PAIRS_PER_MAP = 0.25


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

    A full search costs P*H*W, which :func:`search_dense` pays when it is
    at most ``DENSE_SEARCH_ELEMENTS`` or the pairs are few for the maps
    (``DENSE_SEARCH_PAIRS_PER_MAP``). Otherwise each map, flattened in
    raster order, is cut into strips (:mod:`strips`). A strip's tag box and
    heat maximum bound the cost of its pixels from below, the cost at the
    map's heatmap peaks bounds the optimum from above, and only the strips
    whose lower bound reaches the upper bound are searched pixel by pixel.

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
    num_pairs = pair_tags.shape[0]
    if num_pairs == 0:
        return torch.zeros(0, dtype=torch.long, device=heatmaps.device)
    inputs = (heatmaps, tags, pair_maps, pair_tags, cand_pixels)
    B, K, H, W = heatmaps.shape
    if (
        num_pairs * H * W <= DENSE_SEARCH_ELEMENTS
        or num_pairs <= DENSE_SEARCH_PAIRS_PER_MAP * B * K
    ):
        return search_dense(*inputs[:4])
    if heatmaps.device.type == 'cpu' and all(
        values.dtype == torch.float32 for values in (heatmaps, tags, pair_tags)
    ):
        return search_on_cpu(*(values.detach() for values in inputs))
    return search_on_device(*inputs)


def search_dense(
    heatmaps: Tensor, tags: Tensor, pair_maps: Tensor, pair_tags: Tensor
) -> Tensor:
    """The search over every pixel of each pair's map.

    Args:
        heatmaps, tags, pair_maps, pair_tags: As in
            :func:`search_fill_pixels`

    Returns:
        Tensor: As :func:`search_fill_pixels`
    """
    B, K, H, W = heatmaps.shape
    L = pair_tags.shape[1]
    heat = heatmaps.reshape(B * K, H * W)
    # Pixel-major tags, as the strip searches lay them out: the norms
    # reduce the same contiguous L values, so they agree to the bit.
    tag_pixels = (
        tags.view(B, L, K, H * W).permute(0, 2, 3, 1).reshape(B * K, H * W, L)
    )
    chunk = chunk_length(heatmaps.device, H * W * L)
    found = []
    for start in range(0, len(pair_maps), chunk):
        maps = pair_maps[start : start + chunk]
        costs = (
            tag_distance(
                tag_pixels.index_select(0, maps)
                - pair_tags[start : start + chunk, None]
            )
            .round_()
            .mul_(100)
            .sub_(heat.index_select(0, maps))
        )
        # argmin returns the first of equal minima: the first pixel in
        # raster order.
        found.append(costs.argmin(dim=1))
    return torch.cat(found)


def search_on_device(
    heatmaps: Tensor,
    tags: Tensor,
    pair_maps: Tensor,
    pair_tags: Tensor,
    cand_pixels: Tensor,
) -> Tensor:
    """The strip search with torch alone, for maps on a device other than
    the CPU: the bounds of every pair against every strip of its map.

    Args:
        heatmaps, tags, pair_maps, pair_tags, cand_pixels: As in
            :func:`search_fill_pixels`

    Returns:
        Tensor: As :func:`search_fill_pixels`
    """
    B, K, H, W = heatmaps.shape
    L = pair_tags.shape[1]
    device = heatmaps.device
    num_maps = B * K
    map_strips = MapStrips.of_maps(heatmaps, tags)
    upper = peak_upper_bounds(
        heatmaps, tags, pair_maps, pair_tags, cand_pixels
    )
    size = map_strips.heat.shape[1]
    num_strips = map_strips.heat.shape[0] // num_maps
    steps = torch.arange(size, device=device, dtype=torch.float32)
    heat_max, tag_min, tag_max = map_strips.bounds(num_maps)
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
            tag_distance(gaps)
            .mul_(GAP_SHRINK)
            .round_()
            .mul_(100)
            .sub_(heat_max.index_select(0, maps))
        )
        pair_idx, strip_idx = torch.nonzero(
            lower <= upper[start : start + pair_chunk, None] + UPPER_MARGIN,
            as_tuple=True,
        )
        for part in range(0, pair_idx.numel(), strip_chunk):
            pairs = pair_idx[part : part + strip_chunk] + start
            strips = strip_idx[part : part + strip_chunk]
            found = pair_maps.index_select(0, pairs) * num_strips + strips
            costs = (
                tag_distance(
                    map_strips.tag_pixels.index_select(0, found)
                    - pair_tags.index_select(0, pairs)[:, None]
                )
                .round_()
                .mul_(100)
                .sub_(map_strips.heat.index_select(0, found))
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
