"""The exact fill search of :mod:`fill_search` for float32 maps on the CPU.

The same strips, bounds and pixel search as the all-torch path, with the
pairs laid out per map and the bookkeeping of the many small arrays in
NumPy (a NumPy call costs a fraction of a torch call); the reductions over
pixels stay in torch, whose CPU reductions over short rows are several
times faster than NumPy's. The strip length and the bounds' constants are
read from :mod:`fill_search` when a search runs, so the two paths always
cut maps alike.
"""

from typing import Tuple

import numpy as np
import torch
from torch import Tensor

from . import fill_search as shared


def search_on_cpu(*inputs: Tensor) -> Tensor:
    """The search for maps on the CPU: the same strips, bounds and pixel
    search as ``fill_search._search_on_device``, with the pairs laid out
    per map, so that a pair's bounds read its map's strips without copying
    them, and the bookkeeping of the small arrays done in NumPy, whose
    calls cost a fraction of torch's.

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
        *(bound.numpy() for bound in shared._strip_bounds(rows, num_maps)),
        maps,
        centers,
        upper + np.float32(shared._UPPER_MARGIN),
    )
    # Each surviving strip's least cost, as torch row minima: several times
    # faster than NumPy's on rows this short.
    best = np.empty(len(strips), np.float32)
    size = rows[0].shape[1]
    chunk = shared.chunk_length(heatmaps.device, size * L)
    for start in range(0, len(strips), chunk):
        part = slice(start, start + chunk)
        costs = _cpu_strip_costs(
            rows, pairs[part], strips[part], centers, pair_tags
        )
        torch.amin(
            torch.from_numpy(costs), dim=1, out=torch.from_numpy(best[part])
        )
    # Survivors come grouped by pair, in segments of equal slots, each in
    # raster order: the first of a pair's strips at its least cost holds
    # its pixel, the first one at that cost in the strip.
    new_pair = np.empty(len(slots), bool)
    new_pair[0] = True
    np.not_equal(slots[1:], slots[:-1], out=new_pair[1:])
    starts = np.flatnonzero(new_pair)
    segment = np.cumsum(new_pair) - 1
    at_best = np.flatnonzero(
        best == np.minimum.reduceat(best, starts)[segment]
    )
    first = at_best[np.concatenate(([True], np.diff(segment[at_best]) != 0))]
    steps = _cpu_strip_costs(
        rows, pairs[first], strips[first], centers, pair_tags
    ).argmin(axis=1)
    strip_starts = strips[first] % num_strips * size
    best_pixel = np.empty(len(centers), np.int64)
    best_pixel[pairs[first]] = strip_starts + steps
    return torch.from_numpy(best_pixel)


def _cpu_surviving_strips(
    heat_max: np.ndarray,
    tag_min: np.ndarray,
    tag_max: np.ndarray,
    pair_maps: np.ndarray,
    pair_tags: np.ndarray,
    thresholds: np.ndarray,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The strips that a pair's lower bound does not rule out.

    The pairs are laid out per map, ``Q`` slots per map (NaN tags pad the
    maps with fewer pairs; NaN bounds fail the test), so that the bounds
    of all pairs of a map against all its strips broadcast without copies.

    Note:

        - map number: M
        - strip number per map: N
        - pair number: P
        - surviving (pair, strip) number: F
        - embedding tag dimension: L

    Args:
        heat_max (np.ndarray): Strip heat maxima in shape (M, N)
        tag_min (np.ndarray): Strip tag minima in shape (M, N, L)
        tag_max (np.ndarray): Strip tag maxima in shape (M, N, L)
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
    num_maps, num_strips, L = tag_min.shape
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
    map_chunk = shared.chunk_length(
        torch.device('cpu'), width * num_strips * L
    )
    for start in range(0, num_maps, map_chunk):
        maps = slice(start, start + map_chunk)
        centers = slot_tags[maps]
        gaps = np.maximum(
            tag_min[maps, None] - centers, centers - tag_max[maps, None]
        )
        # Inside a box the gap is 0, not negative (which would lower the
        # bound by a tier per unit of depth).
        np.maximum(gaps, 0, out=gaps)
        if L == 1:
            gaps = gaps[..., 0]
        else:
            gaps = np.sqrt(np.square(gaps).sum(axis=-1))
        gaps *= np.float32(shared._GAP_SHRINK)
        lower = np.rint(gaps, out=gaps)
        lower *= np.float32(100)
        lower -= heat_max[maps, None]
        found.append(
            np.flatnonzero(lower <= slot_thresholds[maps])
            + start * width * num_strips
        )
    found = np.concatenate(found)
    slots = found // num_strips
    return (
        slot_pairs[slots],
        found - slots * num_strips + slots // width * num_strips,
        slots,
    )


def _cpu_strip_costs(
    rows: Tuple[Tensor, Tensor, Tensor],
    pairs: np.ndarray,
    strips: np.ndarray,
    centers: np.ndarray,
    pair_tags: Tensor,
) -> np.ndarray:
    """The cost of every pixel of some strips for their pairs.

    Note:

        - searched (pair, strip) number: F
        - pixel number per strip: S

    Args:
        rows (tuple): The strips of :func:`shared._strip_rows`
        pairs (np.ndarray): The pair of each search in shape (F, )
        strips (np.ndarray): Its row of ``rows`` in shape (F, )
        centers (np.ndarray): ``pair_tags`` as an array
        pair_tags (Tensor): The tag of each pair in shape (P, L)

    Returns:
        np.ndarray: The costs in shape (F, S), float32
    """
    heat_rows, _, tag_pixels = rows
    size = heat_rows.shape[1]
    if centers.shape[1] == 1:
        # NumPy's float32 operations, the same as torch's.
        costs = np.take(tag_pixels.numpy().reshape(-1, size), strips, axis=0)
        costs -= centers[pairs]
        costs = np.rint(np.abs(costs, out=costs), out=costs)
    else:
        costs = (
            shared._tag_distance(
                tag_pixels.index_select(0, torch.from_numpy(strips))
                - pair_tags.index_select(0, torch.from_numpy(pairs))[:, None]
            )
            .round_()
            .numpy()
        )
    costs *= np.float32(100)
    costs -= np.take(heat_rows.numpy(), strips, axis=0)
    return costs
