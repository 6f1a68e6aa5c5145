"""The strip search of the fill (see :mod:`fill_search`) for float32 maps
on the CPU.

The same strips (:mod:`strips`), bounds and costs (:mod:`fill_costs`) as
the all-torch path, with the pairs laid out per map and the bookkeeping of
the many small arrays in NumPy (a NumPy call costs a fraction of a torch
call); the reductions over pixels stay in torch, whose CPU reductions over
short rows are several times faster than NumPy's.
"""

from typing import Tuple

import numpy as np
import torch
from torch import Tensor

from .fill_costs import GAP_SHRINK, UPPER_MARGIN, tag_distance_np
from .strips import MapStrips, chunk_length


def search_on_cpu(
    heatmaps: Tensor,
    tags: Tensor,
    pair_maps: Tensor,
    pair_tags: Tensor,
    cand_pixels: Tensor,
) -> Tensor:
    """The strip search for float32 maps on the CPU, with the pairs laid
    out per map, so that a pair's bounds read its map's strips without
    copying them, and the bookkeeping of the small arrays done in NumPy,
    whose calls cost a fraction of torch's.

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
        cand_pixels (Tensor): Flat positions y*W+x of each map's heatmap
            peaks in shape (B, K, T)

    Returns:
        Tensor: The flat position y*W+x of each pair's pixel, the first in
        raster order of least cost, in shape (P, )
    """
    B, K, H, W = heatmaps.shape
    L = pair_tags.shape[1]
    num_maps = B * K
    rows = MapStrips.of_maps(heatmaps, tags)
    num_strips = rows.heat.shape[0] // num_maps
    maps = pair_maps.numpy()
    centers = pair_tags.numpy()
    # The cost at each pair's heatmap peaks bounds its optimum from above.
    # Flat indices, which NumPy reads fastest: map b*K + k's tag dimension
    # l is channel l*K + k of image b.
    pixels = cand_pixels.reshape(num_maps, -1).numpy()[maps]
    channels = (maps // K * (K * L) + maps % K)[:, None] + np.arange(L) * K
    peak_tags = tags.numpy().reshape(-1)[
        (channels * (H * W))[:, None] + pixels[..., None]
    ]
    upper = tag_distance_np(peak_tags - centers[:, None], overwrite=True)
    np.rint(upper, out=upper)
    upper *= np.float32(100)
    upper -= heatmaps.numpy().reshape(-1)[(maps * (H * W))[:, None] + pixels]
    pairs, strips, slots = _cpu_surviving_strips(
        *(bound.numpy() for bound in rows.bounds(num_maps)),
        maps,
        centers,
        upper.min(axis=1) + np.float32(UPPER_MARGIN),
    )
    # Each surviving strip's least cost, as torch row minima: several times
    # faster than NumPy's on rows this short.
    best = np.empty(len(strips), np.float32)
    size = rows.heat.shape[1]
    chunk = chunk_length(heatmaps.device, size * L)
    for start in range(0, len(strips), chunk):
        part = slice(start, start + chunk)
        costs = _cpu_strip_costs(rows, pairs[part], strips[part], centers)
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
        rows, pairs[first], strips[first], centers
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
            ``UPPER_MARGIN`` in shape (P, )

    Returns:
        tuple:
        - pairs (np.ndarray): The pair of each survivor in shape (F, )
        - strips (np.ndarray): Its row ``map * N + strip`` of
            :class:`MapStrips` in shape (F, )
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
    map_chunk = chunk_length(torch.device('cpu'), width * num_strips * L)
    for start in range(0, num_maps, map_chunk):
        maps = slice(start, start + map_chunk)
        centers = slot_tags[maps]
        gaps = np.maximum(
            tag_min[maps, None] - centers, centers - tag_max[maps, None]
        )
        # Inside a box the gap is 0, not negative (which would lower the
        # bound by a tier per unit of depth).
        np.maximum(gaps, 0, out=gaps)
        gaps = tag_distance_np(gaps, overwrite=True)
        gaps *= np.float32(GAP_SHRINK)
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
    rows: MapStrips,
    pairs: np.ndarray,
    strips: np.ndarray,
    centers: np.ndarray,
) -> np.ndarray:
    """The cost of every pixel of some strips for their pairs.

    Note:

        - searched (pair, strip) number: F
        - pixel number per strip: S
        - pair number: P
        - embedding tag dimension: L

    Args:
        rows (MapStrips): The maps' strips
        pairs (np.ndarray): The pair of each search in shape (F, )
        strips (np.ndarray): Its row of ``rows`` in shape (F, )
        centers (np.ndarray): The tag of each pair in shape (P, L), float32

    Returns:
        np.ndarray: The costs in shape (F, S), float32
    """
    diffs = np.take(rows.tag_pixels.numpy(), strips, axis=0)
    diffs -= centers[pairs][:, None]
    costs = tag_distance_np(diffs, overwrite=True)
    np.rint(costs, out=costs)
    costs *= np.float32(100)
    costs -= np.take(rows.heat.numpy(), strips, axis=0)
    return costs
