"""The cost of filling a missing keypoint at a pixel, and its bounds.

A person's missing keypoint k goes to the pixel minimising
``round(||tag_k - person tag||) * 100 - heatmap_k``; every path of the
fill search (:mod:`fill_search`, :mod:`fill_search_cpu`) evaluates it with
the functions here, so that all of them compute the same float32 values.
"""

import numpy as np
import torch
from torch import Tensor

# The lower bounds shrink tag gaps by this factor, which keeps them below
# every pixel's cost despite rounding differences between two evaluations
# of a norm, and compare with the upper bound plus this margin.
GAP_SHRINK = 1 - 1e-5
UPPER_MARGIN = 1e-3


def tag_distance(diffs: Tensor) -> Tensor:
    """L2 norm over the last (tag) dimension; an absolute value for L=1,
    which is bit-identical and several times cheaper than a norm.

    Args:
        diffs (Tensor): Tag differences in shape (..., L)

    Returns:
        Tensor: Their norms in shape (...)
    """
    if diffs.shape[-1] == 1:
        return diffs[..., 0].abs()
    return torch.linalg.vector_norm(diffs, dim=-1)


def tag_distance_np(diffs: np.ndarray, overwrite: bool = False) -> np.ndarray:
    """:func:`tag_distance` in NumPy, with the same float32 results.

    Args:
        diffs (np.ndarray): Tag differences in shape (..., L), float32
        overwrite (bool): Whether the norms may be written into ``diffs``
            (for L=1 they are then a view of it). Defaults to ``False``

    Returns:
        np.ndarray: Their norms in shape (...)
    """
    if diffs.shape[-1] == 1:
        return np.abs(diffs[..., 0], out=diffs[..., 0] if overwrite else None)
    return tag_distance(torch.from_numpy(diffs)).numpy()


def peak_upper_bounds(
    heatmaps: Tensor,
    tags: Tensor,
    pair_maps: Tensor,
    pair_tags: Tensor,
    cand_pixels: Tensor,
) -> Tensor:
    """The least cost of each pair at the heatmap peaks of its map, a cost
    its optimum does not exceed.

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
        cand_pixels (Tensor): Flat positions y*W+x of each map's peaks in
            shape (B, K, T)

    Returns:
        Tensor: The upper bound of each pair in shape (P, )
    """
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
        tag_distance(cand_tags.index_select(0, pair_maps) - pair_tags[:, None])
        .round_()
        .mul_(100)
        .sub_(cand_heat.index_select(0, pair_maps))
        .amin(dim=1)
    )
