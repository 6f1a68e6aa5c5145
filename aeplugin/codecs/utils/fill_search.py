"""Exact search of the pixels that fill missing keypoints.

The refine step of the decoding fills a person's missing keypoint k at the
pixel minimising ``round(||tag_k - person tag||) * 100 - heatmap_k``. A
full search costs H*W per (person, keypoint) pair;
:func:`search_fill_pixels` prunes strips of pixels by bounds and returns
exactly the pixel a full search would.
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
# Tag range above which a strip is split in two cells for its bounds: the
# tags of one person (or of the background) spread far less, those of two
# people differ by about 1 or more.
_MIXED_SPREAD = 0.5
# Factor of the arithmetic masks: a value plus (minus) a positive excess
# times it is out of reach of a minimum (maximum).
EXCLUDED = 1e30
# Floats per chunk of the batched tensor passes: on CPU 1 MiB, small enough
# to stay in cache; on other devices 64 MiB, which only bounds the memory
# for large batches, heatmaps and crowds.
CPU_CHUNK_ELEMENTS = 1 << 18
DEVICE_CHUNK_ELEMENTS = 1 << 24


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


def _cell_bounds(heat: Tensor, tag: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Split each strip of pixels in two cells halfway between its lowest
    and highest tag (summed over L) and bound each cell's heat from above
    and its tags by a box.

    A strip crossing a person's peak and the background, or two people,
    thus gets two tight tag boxes instead of one loose one; the halfway
    split separates two tag clusters whatever their pixel counts (a split
    at the mean tag falls inside a large background cluster).

    Note:

        - map number: M
        - strip number: N
        - pixel number per strip: S
        - embedding tag dimension: L

    Args:
        heat (Tensor): Heatmaps cut in strips in shape (M, N, S)
        tag (Tensor): Tag maps cut in strips in shape (M, N, L, S)

    Returns:
        tuple:
        - heat_max (Tensor): Cell heat maxima in shape (M, 2*N); cells c
            and c + N cover strip c
        - tag_min (Tensor): Cell tag minima in shape (M, 2*N, L)
        - tag_max (Tensor): Cell tag maxima in shape (M, 2*N, L)
    """
    strip_min = tag.amin(dim=-1)
    strip_max = tag.amax(dim=-1)
    if tag.shape[2] == 1:
        keys = tag[:, :, 0]
        middle = (strip_min + strip_max) / 2
    else:
        keys = tag.sum(dim=2)
        middle = (keys.amin(dim=-1) + keys.amax(dim=-1))[:, :, None] / 2
    offsets = keys - middle
    above = offsets.clamp(min=0)
    below = above - offsets
    # The lower cell holds the pixels with no excess over the strip's
    # middle key, the upper one those with no deficit; a pixel is pushed
    # out of a cell by adding its excess (deficit) times EXCLUDED to its
    # values, an arithmetic mask about 10x faster than torch's CPU where().
    # A pixel only slightly pushed out loosens the bounds but never breaks
    # them. The lower cell's tag minimum is the strip's (for L=1; a valid
    # bound for any L), likewise the upper cell's maximum.
    heat_max = torch.cat(
        [
            torch.sub(heat, above, alpha=EXCLUDED).amax(dim=-1),
            torch.sub(heat, below, alpha=EXCLUDED).amax(dim=-1),
        ],
        dim=1,
    )
    tag_min = torch.cat(
        [
            strip_min,
            torch.add(tag, below[:, :, None], alpha=EXCLUDED).amin(dim=-1),
        ],
        dim=1,
    )
    tag_max = torch.cat(
        [
            torch.sub(tag, above[:, :, None], alpha=EXCLUDED).amax(dim=-1),
            strip_max,
        ],
        dim=1,
    )
    return heat_max, tag_min, tag_max


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
    is cut into strips of ``FILL_STRIP`` pixels; a strip whose tags spread
    wider than ``_MIXED_SPREAD`` (one crossing two people, or a person and
    the background) is split in two cells halfway between its lowest and
    highest tag, so that it gets two tight tag boxes. A cell's tag box and
    heat maximum bound the cost of its pixels from below, the cost at the
    map's heatmap peaks bounds the optimum from above, and only the strips
    of the cells whose lower bound reaches the upper bound, usually a few,
    are searched pixel by pixel.

    Note:

        - batch size: B
        - keypoint number: K
        - pair number: P
        - candidate number: T
        - embedding tag dimension: L
        - heatmap size: [W, H]

    Args:
        heatmaps (Tensor): Heatmaps in shape (B, K, H, W)
        tags (Tensor): Tag maps in shape (B, K*L, H, W)
        pair_maps (Tensor): The map ``b*K + k`` of each pair in shape (P, )
        pair_tags (Tensor): The tag of each pair in shape (P, L)
        cand_pixels (Tensor): Flat positions y*W+x of pixels of each map
            that likely score well (its heatmap peaks) in shape (B, K, T)

    Returns:
        Tensor: The flat position y*W+x of each pair's pixel in shape (P, )
    """
    B, K, H, W = heatmaps.shape
    L = pair_tags.shape[1]
    device = heatmaps.device
    num_maps = B * K
    # (M, H*W) heatmaps and (M, L, H*W) tag maps: views when L == 1.
    heatmaps = heatmaps.reshape(num_maps, H * W)
    tags = tags.view(B, L, K, H * W).transpose(1, 2).reshape(num_maps, L, -1)
    cand_pixels = cand_pixels.reshape(num_maps, -1)
    cand_heat = heatmaps.gather(1, cand_pixels)
    cand_tags = tags.gather(
        2, cand_pixels[:, None].expand(-1, L, -1)
    ).transpose(1, 2)

    size = FILL_STRIP
    num_strips = -(-H * W // size)
    pad = num_strips * size - H * W
    if pad:
        # Padding pixels get heat -inf, hence cost +inf, and the tag of the
        # last pixel, which keeps the tag boxes of the last strip valid.
        heatmaps = F.pad(heatmaps, (0, pad), value=float('-inf'))
        tags = torch.cat([tags, tags[:, :, -1:].expand(-1, -1, pad)], 2)
    # Strips as rows, gathered whole to search them (far faster than pixel
    # by pixel): heat (M*N, S), tags (M*N, L, S) to bound them and
    # pixel-major (M*N, S, L) to search them, all views when L == 1.
    heat_rows = heatmaps.reshape(-1, size)
    tag_rows = tags.view(num_maps, L, num_strips, size).transpose(1, 2)
    tag_rows = tag_rows.reshape(-1, L, size)
    tag_strips = tags.transpose(1, 2).reshape(-1, size, L)
    steps = torch.arange(size, device=device, dtype=torch.float32)

    # One cell per strip, tight for the many strips whose tags all lie
    # close together (background, the inside of a peak); only the mixed
    # strips are split in two cells, so the pixel passes of the split run
    # on a fraction of the maps. Cells m*2N + n and m*2N + N + n are the
    # cells of strip n of map m (the same for an unmixed strip).
    strip_min = tag_rows.amin(dim=-1)
    strip_max = tag_rows.amax(dim=-1)
    heat_max, tag_min, tag_max = (
        bound.view(num_maps, 1, num_strips, -1)
        .expand(-1, 2, -1, -1)
        .reshape(num_maps * 2 * num_strips, -1)
        for bound in (
            heat_rows.amax(dim=-1, keepdim=True),
            strip_min,
            strip_max,
        )
    )
    heat_max = heat_max.view(-1)
    mixed = torch.nonzero(
        (strip_max - strip_min).amax(dim=-1) > _MIXED_SPREAD
    ).view(-1)
    lower_cells = mixed + mixed.div(num_strips, rounding_mode='floor') * (
        num_strips
    )
    row_chunk = chunk_length(device, size * (L + 1))
    for start in range(0, len(mixed), row_chunk):
        rows = mixed[start : start + row_chunk]
        split = _cell_bounds(
            heat_rows.index_select(0, rows)[None],
            tag_rows.index_select(0, rows)[None],
        )
        cells = lower_cells[start : start + row_chunk]
        cells = torch.cat([cells, cells + num_strips])
        for bound, values in zip((heat_max, tag_min, tag_max), split):
            bound[cells] = values[0]
    heat_max = heat_max.view(num_maps, -1)
    tag_min = tag_min.view(num_maps, -1, L)
    tag_max = tag_max.view(num_maps, -1, L)

    num_pairs = pair_tags.shape[0]
    best_cost = torch.full((num_pairs,), float('inf'), device=device)
    # Per searched (pair, strip): its pair, its best cost and the first
    # pixel at that cost.
    searched = []
    pair_chunk = chunk_length(device, 2 * num_strips * L)
    strip_chunk = chunk_length(device, size * L)
    for start in range(0, num_pairs, pair_chunk):
        maps = pair_maps[start : start + pair_chunk]
        centers = pair_tags[start : start + pair_chunk, None, :]
        upper = (
            _tag_distance(cand_tags.index_select(0, maps) - centers).round()
            * 100
            - cand_heat.index_select(0, maps)
        ).amin(dim=1)
        gaps = torch.maximum(
            tag_min.index_select(0, maps) - centers,
            centers - tag_max.index_select(0, maps),
        ).clamp_(min=0)
        # The slack keeps the bound below every pixel's cost despite
        # rounding differences between the two norm evaluations.
        lower = (
            _tag_distance(gaps)
            .mul_(1 - 1e-5)
            .round_()
            .mul_(100)
            .sub_(heat_max.index_select(0, maps))
        )
        lower = torch.minimum(lower[:, :num_strips], lower[:, num_strips:])
        pair_idx, strip_idx = torch.nonzero(
            lower <= upper[:, None] + 1e-3, as_tuple=True
        )
        for part in range(0, pair_idx.numel(), strip_chunk):
            pairs = pair_idx[part : part + strip_chunk] + start
            strips = strip_idx[part : part + strip_chunk]
            rows = pair_maps.index_select(0, pairs) * num_strips + strips
            costs = (
                _tag_distance(
                    tag_strips.index_select(0, rows)
                    - pair_tags.index_select(0, pairs)[:, None]
                )
                .round_()
                .mul_(100)
                .sub_(heat_rows.index_select(0, rows))
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
