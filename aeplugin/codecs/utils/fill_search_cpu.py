"""The exact fill search of :mod:`fill_search` for float32 maps on the CPU.

The same cells, bounds and pixel search as the all-torch path, with the
pairs and the strips' cells laid out per map and the bookkeeping of the
many small arrays in NumPy (a NumPy call costs a fraction of a torch call);
the passes over pixels stay in torch. The strip length and the bounds'
constants are read from :mod:`fill_search` when a search runs, so the two
paths always cut maps alike.
"""

from typing import Tuple

import numpy as np
import torch
from torch import Tensor

from . import fill_search as shared


def search_on_cpu(*inputs: Tensor) -> Tensor:
    """The search for maps on the CPU: the same cells, bounds and pixel
    search as ``fill_search._search_on_device``, with the pairs and cells
    laid out per map, so that a pair's bounds read its map's cells without
    copying them, and the bookkeeping of the small arrays done in NumPy,
    whose calls cost a fraction of torch's.

    Args:
        inputs (Tensor): The arguments of
            :func:`fill_search.search_fill_pixels`

    Returns:
        Tensor: As :func:`fill_search.search_fill_pixels`
    """
    heatmaps, tags, pair_maps, pair_tags, cand_pixels = inputs
    B, K, H, W = heatmaps.shape
    L = pair_tags.shape[1]
    num_maps = B * K
    rows = shared._strip_rows(heatmaps, tags, L)
    num_strips = rows[0].shape[0] // num_maps
    maps = pair_maps.numpy()
    centers = pair_tags.numpy()
    if L == 1:
        # The costs at the peaks as _peak_upper_bounds computes them, with the
        # same float32 operations.
        peaks = (
            cand_pixels.reshape(num_maps, -1).numpy()
            + np.arange(num_maps)[:, None] * (H * W)
        )[maps]
        upper = np.abs(tags.numpy().reshape(-1)[peaks] - centers)
        upper = np.rint(upper, out=upper)
        upper *= np.float32(100)
        upper -= heatmaps.numpy().reshape(-1)[peaks]
        upper = upper.min(axis=1)
    else:
        upper = shared._peak_upper_bounds(*inputs).numpy()
    pairs, strips, slots = _cpu_surviving_strips(
        _cpu_cells(rows, num_strips),
        maps,
        centers,
        upper + np.float32(shared._UPPER_MARGIN),
    )
    best, pixels = _cpu_strip_minima(rows, pairs, strips, centers, pair_tags)
    pixels += strips % num_strips * rows[0].shape[1]
    # Survivors come grouped by pair, in segments of equal slots; among
    # its strips at its least cost a pair gets the first pixel in raster
    # order.
    new_pair = np.empty(len(slots), bool)
    new_pair[0] = True
    np.not_equal(slots[1:], slots[:-1], out=new_pair[1:])
    starts = np.flatnonzero(new_pair)
    pair_best = np.minimum.reduceat(best, starts)
    pixels[best != pair_best[np.cumsum(new_pair) - 1]] = H * W
    best_pixel = np.empty(len(centers), np.int64)
    best_pixel[pairs[starts]] = np.minimum.reduceat(pixels, starts)
    return torch.from_numpy(best_pixel)


def _cpu_cells(
    rows: Tuple[Tensor, Tensor, Tensor], num_strips: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cells of every map: first its strips, a mixed one bounding only
    its lower cell, then the upper cells of its mixed strips, padded with
    NaN bounds (never searched) up to the most mixed strips of a map.

    Note:

        - map number: M
        - strip number per map: N
        - upper cell number per map: X (the most mixed strips of a map)
        - embedding tag dimension: L

    Args:
        rows (tuple): The strips of :func:`shared._strip_rows`
        num_strips (int): The strips N per map

    Returns:
        tuple:
        - heat_max (np.ndarray): Cell heat maxima in shape (M, N + X)
        - tag_min (np.ndarray): Cell tag minima in shape (M, N + X, L)
        - tag_max (np.ndarray): Cell tag maxima in shape (M, N + X, L)
        - upper_strips (np.ndarray): The strip of each upper cell in
            shape (M, X)
    """
    heat_rows, tag_rows, _ = rows
    num_maps = heat_rows.shape[0] // num_strips
    L = tag_rows.shape[1]
    strip_min = tag_rows.amin(dim=-1)
    strip_max = tag_rows.amax(dim=-1)
    lows, highs = strip_min.numpy(), strip_max.numpy()
    mixed = np.flatnonzero((highs - lows).max(axis=1) > shared._MIXED_SPREAD)
    mixed_maps = mixed // num_strips
    counts = np.bincount(mixed_maps, minlength=num_maps)
    num_cells = num_strips + int(counts.max())
    heat_max = np.full((num_maps, num_cells), np.nan, np.float32)
    tag_min = np.full((num_maps, num_cells, L), np.nan, np.float32)
    tag_max = np.full((num_maps, num_cells, L), np.nan, np.float32)
    heat_max[:, :num_strips] = (
        heat_rows.amax(dim=-1).numpy().reshape(num_maps, -1)
    )
    tag_min[:, :num_strips] = lows.reshape(num_maps, -1, L)
    tag_max[:, :num_strips] = highs.reshape(num_maps, -1, L)
    upper_strips = np.zeros((num_maps, num_cells - num_strips), np.int64)
    if not mixed.size:
        return heat_max, tag_min, tag_max, upper_strips
    strips = mixed - mixed_maps * num_strips
    ranks = np.arange(mixed.size) - (counts.cumsum() - counts)[mixed_maps]
    upper_strips[mixed_maps, ranks] = strips
    upper_cells = num_strips + ranks
    row_chunk = shared.chunk_length(
        heat_rows.device, heat_rows.shape[1] * (L + 1)
    )
    for start in range(0, mixed.size, row_chunk):
        part = slice(start, start + row_chunk)
        split = torch.from_numpy(mixed[part])
        heat_low, heat_high, tag_max_low, tag_min_high = (
            values.numpy()
            for values in shared._split_strips(
                *(
                    values.index_select(0, split)
                    for values in (heat_rows, tag_rows, strip_min, strip_max)
                )
            )
        )
        maps, strips_part = mixed_maps[part], strips[part]
        heat_max[maps, strips_part] = heat_low
        tag_max[maps, strips_part] = tag_max_low
        heat_max[maps, upper_cells[part]] = heat_high
        tag_min[maps, upper_cells[part]] = tag_min_high
        tag_max[maps, upper_cells[part]] = highs[mixed[part]]
    return heat_max, tag_min, tag_max, upper_strips


def _cpu_surviving_strips(
    cells: Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    pair_maps: np.ndarray,
    pair_tags: np.ndarray,
    thresholds: np.ndarray,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The strips with a cell that a pair's lower bound does not rule out.

    The pairs are laid out per map, ``Q`` slots per map (NaN tags pad the
    maps with fewer pairs; NaN bounds fail the test), so that the bounds
    of all pairs of a map against all its cells broadcast without copies.

    Note:

        - map number: M
        - pair number: P
        - surviving (pair, strip) number: F

    Args:
        cells (tuple): The cells of :func:`_cpu_cells`
        pair_maps (np.ndarray): The map of each pair in shape (P, )
        pair_tags (np.ndarray): The tag of each pair in shape (P, L)
        thresholds (np.ndarray): The pairs' upper bounds plus
            ``shared._UPPER_MARGIN`` in shape (P, )

    Returns:
        tuple:
        - pairs (np.ndarray): The pair of each survivor in shape (F, )
        - strips (np.ndarray): Its row ``map * N + strip`` of
            :func:`shared._strip_rows` in shape (F, )
        - slots (np.ndarray): Its pair's slot ``map * Q + rank``, the
            survivors sorted by slot then strip, in shape (F, )
    """
    heat_max, tag_min, tag_max, upper_strips = cells
    num_maps, num_cells, L = tag_min.shape
    num_strips = num_cells - upper_strips.shape[1]
    counts = np.bincount(pair_maps, minlength=num_maps)
    width = int(counts.max())
    order = np.argsort(pair_maps, kind='stable')
    sorted_maps = pair_maps[order]
    slots = (
        sorted_maps * width
        + np.arange(len(order))
        - (counts.cumsum() - counts)[sorted_maps]
    )
    slot_pairs = np.zeros(num_maps * width, np.int64)
    slot_pairs[slots] = order
    slot_tags = np.full((num_maps * width, L), np.nan, np.float32)
    slot_tags[slots] = pair_tags[order]
    slot_tags = slot_tags.reshape(num_maps, width, 1, L)
    slot_thresholds = np.full(num_maps * width, np.nan, np.float32)
    slot_thresholds[slots] = thresholds[order]
    slot_thresholds = slot_thresholds.reshape(num_maps, width, 1)
    found = []
    map_chunk = shared.chunk_length(torch.device('cpu'), width * num_cells * L)
    for start in range(0, num_maps, map_chunk):
        maps = slice(start, start + map_chunk)
        centers = slot_tags[maps]
        gaps = np.maximum(
            tag_min[maps, None] - centers, centers - tag_max[maps, None]
        )
        if L == 1:
            gaps = gaps[..., 0]
        else:
            gaps = np.sqrt(np.square(np.maximum(gaps, 0)).sum(axis=-1))
        gaps *= np.float32(shared._GAP_SHRINK)
        lower = np.rint(gaps, out=gaps)
        lower *= np.float32(100)
        lower -= heat_max[maps, None]
        need = lower[..., :num_strips] <= slot_thresholds[maps]
        if num_cells > num_strips:
            # A strip survives with either cell: an upper cell marks its
            # strip (no map may have a mixed strip, and then no upper cell).
            slot, cell = np.nonzero(
                (lower[..., num_strips:] <= slot_thresholds[maps]).reshape(
                    -1, num_cells - num_strips
                )
            )
            need.reshape(-1, num_strips)[
                slot, upper_strips[start + slot // width, cell]
            ] = True
        found.append(np.flatnonzero(need) + start * width * num_strips)
    found = np.concatenate(found)
    slots = found // num_strips
    return (
        slot_pairs[slots],
        found - slots * num_strips + slots // width * num_strips,
        slots,
    )


def _cpu_strip_minima(
    rows: Tuple[Tensor, Tensor, Tensor],
    pairs: np.ndarray,
    strips: np.ndarray,
    centers: np.ndarray,
    pair_tags: Tensor,
) -> Tuple[np.ndarray, np.ndarray]:
    """Search strips pixel by pixel for their pairs.

    Note:

        - searched (pair, strip) number: F

    Args:
        rows (tuple): The strips of :func:`shared._strip_rows`
        pairs (np.ndarray): The pair of each search in shape (F, )
        strips (np.ndarray): Its row of ``rows`` in shape (F, )
        centers (np.ndarray): ``pair_tags`` as an array
        pair_tags (Tensor): The tag of each pair in shape (P, L)

    Returns:
        tuple:
        - best (np.ndarray): Each search's least cost in shape (F, )
        - steps (np.ndarray): The first pixel of the strip at that cost in
            shape (F, )
    """
    heat_rows, _, tag_pixels = rows
    size = heat_rows.shape[1]
    L = centers.shape[1]
    heat = heat_rows.numpy()
    tags = tag_pixels.numpy().reshape(-1, size) if L == 1 else None
    best = np.empty(len(strips), np.float32)
    steps = np.empty(len(strips), np.int64)
    chunk = shared.chunk_length(heat_rows.device, size * L)
    for start in range(0, len(strips), chunk):
        part = slice(start, start + chunk)
        if L == 1:
            # NumPy's float32 operations, the same as torch's.
            costs = tags[strips[part]] - centers[pairs[part]]
            costs = np.rint(np.abs(costs, out=costs), out=costs)
        else:
            costs = (
                shared._tag_distance(
                    tag_pixels.index_select(0, torch.from_numpy(strips[part]))
                    - pair_tags.index_select(0, torch.from_numpy(pairs[part]))[
                        :, None
                    ]
                )
                .round_()
                .numpy()
            )
        costs *= np.float32(100)
        costs -= heat[strips[part]]
        # argmin gives the first index of the least value.
        steps[part] = costs.argmin(axis=1)
        best[part] = costs[np.arange(len(costs)), steps[part]]
    return best, steps
