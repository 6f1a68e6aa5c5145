"""Associative Embedding codec with vectorized encoding and batched decoding.

The decoding follows the official Associative Embedding post-processing
(heatmap NMS, greedy tag grouping by optimal assignment, quarter-pixel
adjustment, tag-guided filling of missing keypoints) and mmpose's
``AssociativeEmbedding`` codec, fixing these defects of the latter:

- groups are indexed by an integer id instead of a float tag value, so two
  people with equal tags no longer overwrite each other's keypoints;
- ``decode_max_instances`` keeps the highest-scoring people instead of the
  first ones created;
- the tag used to fill a person's missing keypoints is the mean tag of its
  grouped candidates, not the tag read at the adjusted (and then truncated)
  keypoint location;
- filled keypoints get the same sub-pixel adjustment as grouped ones;
- with ``use_udp=True`` the fill searches the raw heatmaps (mmpose searches
  the log-blurred heatmaps its DARK refinement wrote in place, and so also
  modifies the caller's tensor).
"""

from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmpose.codecs.base import BaseKeypointCodec
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from aeplugin.registry import KEYPOINT_CODECS

# Length of the strips of pixels (in raster order) the missing-keypoint
# search prunes by bounds: strips need no copy to be reduced, unlike square
# blocks, and 64 pixels balance the bounds per pair against the pixels per
# surviving strip.
_FILL_STRIP = 64
# Tag range above which a strip is split in two cells for its bounds: the
# tags of one person (or of the background) spread far less, those of two
# people differ by about 1 or more.
_MIXED_SPREAD = 0.5
# Factor of the arithmetic masks: a value plus (minus) a positive excess
# times it is out of reach of a minimum (maximum).
_EXCLUDED = 1e30
# Floats per chunk of the batched tensor passes: on CPU 1 MiB, small enough
# to stay in cache; on other devices 64 MiB, which only bounds the memory
# for large batches, heatmaps and crowds.
_CPU_CHUNK_ELEMENTS = 1 << 18
_DEVICE_CHUNK_ELEMENTS = 1 << 24


def _check_size(name: str, value) -> Tuple[int, int]:
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(v, (int, np.integer)) for v in value)
        or min(value) <= 0
    ):
        raise ValueError(
            f'{name} must be a pair of positive ints [w, h], got {value!r}'
        )
    return int(value[0]), int(value[1])


def _check_odd_kernel(name: str, value) -> int:
    if (
        not isinstance(value, (int, np.integer))
        or isinstance(value, bool)
        or value < 1
        or value % 2 == 0
    ):
        raise ValueError(f'{name} must be a positive odd int, got {value!r}')
    return int(value)


def _check_positive_int(name: str, value) -> int:
    if (
        not isinstance(value, (int, np.integer))
        or isinstance(value, bool)
        or value < 1
    ):
        raise ValueError(f'{name} must be a positive int, got {value!r}')
    return int(value)


def _check_number(name: str, value, positive: bool = False) -> float:
    if (
        not isinstance(value, (int, float, np.integer, np.floating))
        or isinstance(value, bool)
        or not np.isfinite(value)
        or (positive and value <= 0)
    ):
        kind = 'a positive finite number' if positive else 'a finite number'
        raise ValueError(f'{name} must be {kind}, got {value!r}')
    return float(value)


def _check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f'{name} must be a bool, got {value!r}')
    return bool(value)


def _max_filter(maps: Tensor, kernel_size: int) -> Tensor:
    """Maximum over the centered ``kernel_size`` x ``kernel_size`` windows,
    clipped at the borders: ``F.max_pool2d(maps, kernel_size, 1,
    kernel_size // 2)``, several times faster on CPU.

    The maps are padded with -inf once; along each axis, maxima over
    windows of doubling length are combined (3 element-wise maxima per
    axis for a window of 5).

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


def _tag_distance(diffs: Tensor) -> Tensor:
    """L2 norm over the last (tag) dimension; an absolute value for L=1,
    which is cheaper and bit-identical."""
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
    # out of a cell by adding its excess (deficit) times _EXCLUDED to its
    # values, an arithmetic mask about 10x faster than torch's CPU where().
    # A pixel only slightly pushed out loosens the bounds but never breaks
    # them. The lower cell's tag minimum is the strip's (for L=1; a valid
    # bound for any L), likewise the upper cell's maximum.
    heat_max = torch.cat(
        [
            torch.sub(heat, above, alpha=_EXCLUDED).amax(dim=-1),
            torch.sub(heat, below, alpha=_EXCLUDED).amax(dim=-1),
        ],
        dim=1,
    )
    tag_min = torch.cat(
        [
            strip_min,
            torch.add(tag, below[:, :, None], alpha=_EXCLUDED).amin(dim=-1),
        ],
        dim=1,
    )
    tag_max = torch.cat(
        [
            torch.sub(tag, above[:, :, None], alpha=_EXCLUDED).amax(dim=-1),
            strip_max,
        ],
        dim=1,
    )
    return heat_max, tag_min, tag_max


def _chunk_length(device: torch.device, item_elements: int) -> int:
    """How many items of ``item_elements`` floats to process at once; on
    CPU as many as fit in cache, since torch's element-wise passes over
    larger arrays are memory-bound."""
    if device.type == 'cpu':
        return max(1, _CPU_CHUNK_ELEMENTS // item_elements)
    return max(1, _DEVICE_CHUNK_ELEMENTS // item_elements)


def _search_fill_pixels(
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
    is cut into strips of ``_FILL_STRIP`` pixels; a strip whose tags spread
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

    size = _FILL_STRIP
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
    row_chunk = _chunk_length(device, size * (L + 1))
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
    pair_chunk = _chunk_length(device, 2 * num_strips * L)
    strip_chunk = _chunk_length(device, size * L)
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
                steps, costs - strip_best[:, None], alpha=_EXCLUDED
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


@KEYPOINT_CODECS.register_module()
class BottomupGrouping(BaseKeypointCodec):
    """Associative Embedding codec: Gaussian heatmaps and tag indices for
    training, tag-based grouping of heatmap peaks for inference.

    See `Associative Embedding`_ (Newell et al., 2017). Encoding is
    value-for-value the same as mmpose's ``AssociativeEmbedding``; decoding
    is batched on the input's device except for the per-image grouping.

    Note:

        - instance number: N
        - keypoint number: K
        - embedding tag dimension: L
        - batch size: B
        - image size: [w, h]
        - heatmap size: [W, H]

    Encoded:

        - heatmaps (np.ndarray): The Gaussian heatmaps in shape (K, H, W)
        - keypoint_indices (np.ndarray): The keypoint position indices in
            shape (N, K, 2). Each index is [i, v] with :math:`i=y*W+x` the
            flat heatmap position and v the visibility (0 when the keypoint
            is not visible or falls outside the heatmap)
        - keypoint_weights (np.ndarray): The target weights in shape (N, K)

    Args:
        input_size (tuple): Image size in [w, h]
        heatmap_size (tuple): Heatmap size in [W, H]
        sigma (float, optional): The sigma of the Gaussian heatmap. ``None``
            means :math:`\\sqrt{W H} / 64`. Defaults to ``None``
        use_udp (bool): Whether to use unbiased data processing (`UDP`_):
            UDP heatmaps and scale factor, DARK-UDP adjustment. Defaults to
            ``False``
        decode_keypoint_order (List[int]): The order in which keypoint types
            are grouped, a permutation of ``range(K)``; empty means
            ``range(K)``. Grouping usually starts from the head and torso.
            Defaults to ``[]``
        decode_nms_kernel (int): The max-pooling kernel of the heatmap NMS,
            an odd int. Defaults to 5
        decode_gaussian_kernel (int): The Gaussian blur kernel of the
            DARK-UDP adjustment, an odd int; only used with ``use_udp``.
            Defaults to 3
        decode_keypoint_thr (float): Candidates with a heatmap value not
            above this are not grouped. Defaults to 0.1
        decode_tag_thr (float): The largest tag distance at which a
            candidate may join a group. Defaults to 1.0
        decode_topk (int): The number of candidates per keypoint type taken
            from the heatmap (at most H*W are taken). Defaults to 30
        decode_center_shift (float): The offset added to decoded keypoint
            coordinates in heatmap space. Defaults to 0.0
        decode_max_instances (int, optional): The number of highest-scoring
            instances to keep; ``None`` keeps all. Defaults to ``None``
        adjust (bool): Whether to refine each keypoint to sub-pixel accuracy
            (a quarter pixel toward the higher neighbour, or DARK-UDP with
            ``use_udp``). Defaults to ``True``
        refine (bool): Whether to fill each instance's missing keypoints at
            the heatmap location that best matches its mean tag. Defaults to
            ``True``

    .. _`Associative Embedding`: https://arxiv.org/abs/1611.05424
    .. _`UDP`: https://arxiv.org/abs/1911.07524
    """

    label_mapping_table = dict(
        keypoint_weights='keypoint_weights',
        keypoint_indices='keypoint_indices',
    )
    field_mapping_table = dict(heatmaps='heatmaps')
    instance_mapping_table = dict(
        keypoints='keypoints', keypoints_visible='keypoints_visible'
    )
    support_batch_decoding = True

    def __init__(
        self,
        input_size: Tuple[int, int],
        heatmap_size: Tuple[int, int],
        sigma: Optional[float] = None,
        use_udp: bool = False,
        decode_keypoint_order: List[int] = [],
        decode_nms_kernel: int = 5,
        decode_gaussian_kernel: int = 3,
        decode_keypoint_thr: float = 0.1,
        decode_tag_thr: float = 1.0,
        decode_topk: int = 30,
        decode_center_shift: float = 0.0,
        decode_max_instances: Optional[int] = None,
        adjust: bool = True,
        refine: bool = True,
    ) -> None:
        super().__init__()
        self.input_size = _check_size('input_size', input_size)
        self.heatmap_size = _check_size('heatmap_size', heatmap_size)
        self.use_udp = _check_bool('use_udp', use_udp)
        self.adjust = _check_bool('adjust', adjust)
        self.refine = _check_bool('refine', refine)
        self.decode_nms_kernel = _check_odd_kernel(
            'decode_nms_kernel', decode_nms_kernel
        )
        self.decode_gaussian_kernel = _check_odd_kernel(
            'decode_gaussian_kernel', decode_gaussian_kernel
        )
        self.decode_keypoint_thr = _check_number(
            'decode_keypoint_thr', decode_keypoint_thr
        )
        self.decode_tag_thr = _check_number(
            'decode_tag_thr', decode_tag_thr, positive=True
        )
        self.decode_center_shift = _check_number(
            'decode_center_shift', decode_center_shift
        )
        self.decode_topk = _check_positive_int('decode_topk', decode_topk)
        self.decode_max_instances = (
            None
            if decode_max_instances is None
            else _check_positive_int(
                'decode_max_instances', decode_max_instances
            )
        )
        order = list(decode_keypoint_order)
        if not all(isinstance(k, (int, np.integer)) for k in order) or (
            sorted(order) != list(range(len(order)))
        ):
            raise ValueError(
                'decode_keypoint_order must be empty or a permutation of '
                f'range(K), got {order!r}'
            )
        self.decode_keypoint_order = [int(k) for k in order]

        if sigma is None:
            sigma = (self.heatmap_size[0] * self.heatmap_size[1]) ** 0.5 / 64
        self.sigma = _check_number('sigma', sigma, positive=True)

        input_wh = np.array(self.input_size)
        heatmap_wh = np.array(self.heatmap_size)
        if use_udp:
            if min(self.heatmap_size) < 2:
                raise ValueError(
                    'heatmap_size must be at least 2x2 with '
                    f'use_udp=True, got {heatmap_size!r}'
                )
            self.scale_factor = ((input_wh - 1) / (heatmap_wh - 1)).astype(
                np.float32
            )
        else:
            self.scale_factor = (input_wh / heatmap_wh).astype(np.float32)

    def encode(
        self,
        keypoints: np.ndarray,
        keypoints_visible: Optional[np.ndarray] = None,
    ) -> dict:
        """Encode keypoints into Gaussian heatmaps and position indices.

        Note:

            - instance number: N
            - keypoint number: K
            - heatmap size: [W, H]

        Args:
            keypoints (np.ndarray): Keypoint coordinates in the input image
                space in shape (N, K, 2)
            keypoints_visible (np.ndarray, optional): Keypoint visibilities in
                shape (N, K); ``None`` means all visible

        Returns:
            dict:
            - heatmaps (np.ndarray): The heatmaps in shape (K, H, W), float32
            - keypoint_indices (np.ndarray): The position indices [y*W+x, v]
                in shape (N, K, 2), int64
            - keypoint_weights (np.ndarray): The target weights in shape
                (N, K), float32
        """
        keypoints, keypoints_visible = self._check_encode_inputs(
            keypoints, keypoints_visible
        )
        W, H = self.heatmap_size
        N, K = keypoints.shape[:2]
        keypoints = keypoints / self.scale_factor

        # Rounding, truncation toward zero and the 3-sigma window follow
        # mmpose's generators so that heatmaps match theirs value for value.
        radius = self.sigma * 3
        patch_len = 2 * radius + 1
        patch_center = patch_len // 2
        grid = np.arange(0, patch_len, 1, dtype=np.float32)
        centers = (keypoints + 0.5).astype(np.int64)
        corners_low = (centers - radius).astype(np.int64)
        corners_high = (centers + radius + 1).astype(np.int64)

        keypoint_weights = keypoints_visible.astype(np.float32)
        labelled = keypoints_visible >= 0.5
        outside = (
            (corners_low[..., 0] >= W)
            | (corners_low[..., 1] >= H)
            | (corners_high[..., 0] < 0)
            | (corners_high[..., 1] < 0)
        )
        keypoint_weights[labelled & outside] = 0
        person_idx, kpt_idx = np.nonzero(labelled & ~outside)

        heatmaps = np.zeros((K, H, W), dtype=np.float32)
        if person_idx.size:
            if self.use_udp:
                subpixel = (
                    keypoints[person_idx, kpt_idx]
                    - centers[person_idx, kpt_idx]
                )
                mean_x = patch_center + subpixel[:, 0, None, None]
                mean_y = patch_center + subpixel[:, 1, None, None]
                patches = np.exp(
                    -(
                        (grid[None, None, :] - mean_x) ** 2
                        + (grid[None, :, None] - mean_y) ** 2
                    )
                    / (2 * self.sigma**2)
                )
            else:
                patch = np.exp(
                    -(
                        (grid[None, :] - patch_center) ** 2
                        + (grid[:, None] - patch_center) ** 2
                    )
                    / (2 * self.sigma**2)
                )
                patches = np.broadcast_to(
                    patch, (person_idx.size,) + patch.shape
                )
            low = corners_low[person_idx, kpt_idx]
            high = corners_high[person_idx, kpt_idx]
            xs = low[:, 0, None] + np.arange(grid.size)
            ys = low[:, 1, None] + np.arange(grid.size)
            valid_x = (xs >= 0) & (xs < W) & (xs < high[:, 0, None])
            valid_y = (ys >= 0) & (ys < H) & (ys < high[:, 1, None])
            valid = valid_y[:, :, None] & valid_x[:, None, :]
            flat_idx = (
                kpt_idx[:, None, None] * (H * W)
                + ys[:, :, None] * W
                + xs[:, None, :]
            )
            np.maximum.at(
                heatmaps.reshape(-1),
                flat_idx[valid],
                patches[valid].astype(np.float32),
            )

        x, y = centers[..., 0], centers[..., 1]
        keypoint_indices = np.stack(
            [
                y * W + x,
                (keypoints_visible > 0.5)
                & (x >= 0)
                & (x < W)
                & (y >= 0)
                & (y < H),
            ],
            axis=-1,
        ).astype(np.int64)

        return dict(
            heatmaps=heatmaps,
            keypoint_indices=keypoint_indices,
            keypoint_weights=keypoint_weights,
        )

    def decode(
        self,
        heatmaps: Union[np.ndarray, Tensor],
        tags: Union[np.ndarray, Tensor],
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decode the instances of one image; see :meth:`batch_decode`.

        Note:

            - instance number: N
            - keypoint number: K
            - embedding tag dimension: L
            - heatmap size: [W, H]

        Args:
            heatmaps (np.ndarray | Tensor): Heatmaps in shape (K, H, W)
            tags (np.ndarray | Tensor): Tag maps in shape (K*L, H, W)

        Returns:
            tuple:
            - keypoints (np.ndarray): Keypoints in the input image space in
                shape (N, K, 2)
            - keypoint_scores (np.ndarray): Keypoint scores in shape (N, K)
            - instance_scores (np.ndarray): Instance scores in shape (N, )
        """
        tensors = []
        for name, value in (('heatmaps', heatmaps), ('tags', tags)):
            if isinstance(value, np.ndarray):
                value = torch.from_numpy(value)
            if not isinstance(value, Tensor) or value.dim() != 3:
                shape = getattr(value, 'shape', type(value).__name__)
                raise ValueError(
                    f'{name} must be an array or tensor of '
                    f'shape (C, H, W), got {shape}'
                )
            tensors.append(value[None])
        keypoints, keypoint_scores, instance_scores = self.batch_decode(
            *tensors
        )
        return keypoints[0], keypoint_scores[0], instance_scores[0]

    def batch_decode(
        self, batch_heatmaps: Tensor, batch_tags: Tensor
    ) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
        """Decode the instances of a batch of heatmaps and tag maps.

        Candidates are the top-k NMS peaks of each heatmap above
        ``decode_keypoint_thr``. They are grouped into instances keypoint
        type by keypoint type (``decode_keypoint_order``), matching
        candidates to groups (tag: mean of the members' tags) by optimal
        assignment on ``round(tag distance) * 100 - heatmap value``; a match
        needs a tag distance below ``decode_tag_thr``, unmatched candidates
        start new groups. The instance score is the mean over the K keypoint
        types of the grouped candidates' values (0 for a missing type),
        computed before missing keypoints are filled, as in mmpose. The best
        ``decode_max_instances`` instances are kept, sorted by instance
        score, highest first. With ``refine``, each instance's missing
        keypoint k is filled at the pixel minimising
        ``round(||tag_k - instance tag||) * 100 - heatmap_k``, scored with
        the heatmap value there. With ``adjust``, every keypoint, filled
        ones included, is refined to sub-pixel accuracy; then
        ``decode_center_shift`` is added and coordinates are scaled to the
        input space.

        Note:

            - batch size: B
            - instance number: N (per image)
            - keypoint number: K
            - embedding tag dimension: L
            - heatmap size: [W, H]

        Args:
            batch_heatmaps (Tensor): Heatmaps in shape (B, K, H, W)
            batch_tags (Tensor): Tag maps in shape (B, K*L, H, W), where
                channel ``l*K + k`` holds tag dimension l of keypoint k

        Returns:
            tuple:
            - batch_keypoints (List[np.ndarray]): Keypoints in the input
                image space, each in shape (N, K, 2); a missing keypoint
                (only without ``refine``) is at (0, 0)
            - batch_keypoint_scores (List[np.ndarray]): Keypoint scores,
                each in shape (N, K); 0 for a missing keypoint
            - batch_instance_scores (List[np.ndarray]): Instance scores,
                each in shape (N, )
        """
        num_tag_dims = self._check_decode_inputs(batch_heatmaps, batch_tags)
        # Inference mode skips autograd's bookkeeping: on the many small
        # tensors of a decode, it saves about a tenth of the time.
        with torch.inference_mode():
            heatmaps = batch_heatmaps.detach().float()
            tags = batch_tags.detach().float()
            return self._decode(heatmaps, tags, num_tag_dims)

    def _decode(
        self, heatmaps: Tensor, tags: Tensor, num_tag_dims: int
    ) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
        B, K, H, W = heatmaps.shape
        order = self.decode_keypoint_order or list(range(K))
        cand_vals, cand_pixels, cand_tags = self._top_candidates(
            heatmaps, tags, num_tag_dims
        )

        image_groups = []
        for vals, pixels, cand_tag in zip(cand_vals, cand_pixels, cand_tags):
            members, group_tags = self._group_candidates(vals, cand_tag, order)
            found = members >= 0
            rows = np.arange(K)[None, :]
            safe_members = np.where(found, members, 0)
            scores = np.where(found, vals[rows, safe_members], 0)
            positions = np.where(found, pixels[rows, safe_members], -1)
            instance_scores = scores.sum(axis=1) / K
            keep = (-instance_scores).argsort(kind='stable')[
                : self.decode_max_instances
            ]
            image_groups.append(
                (
                    positions[keep],
                    scores[keep],
                    instance_scores[keep],
                    group_tags[keep],
                )
            )

        counts = [len(group[0]) for group in image_groups]
        positions = np.concatenate([group[0] for group in image_groups])
        scores = np.concatenate([group[1] for group in image_groups])
        batch_idx = np.repeat(np.arange(B), counts)

        if self.refine and positions.size:
            group_tags = np.concatenate([group[3] for group in image_groups])
            positions, scores = self._fill_missing(
                heatmaps,
                tags,
                cand_pixels,
                batch_idx,
                positions,
                scores,
                group_tags,
            )

        keypoints = self._locate(heatmaps, batch_idx, positions)
        keypoints = keypoints * self.scale_factor

        splits = np.cumsum(counts)[:-1]
        batch_keypoints = np.split(keypoints.astype(np.float32), splits)
        batch_scores = np.split(scores.astype(np.float32), splits)
        batch_instance_scores = [
            group[2].astype(np.float32) for group in image_groups
        ]
        return batch_keypoints, batch_scores, batch_instance_scores

    def _check_decode_inputs(
        self, batch_heatmaps: Tensor, batch_tags: Tensor
    ) -> int:
        """Check the decoder inputs and return the tag dimension L."""
        for name, value in (
            ('batch_heatmaps', batch_heatmaps),
            ('batch_tags', batch_tags),
        ):
            if not isinstance(value, Tensor):
                raise TypeError(
                    f'{name} must be a torch.Tensor, got {type(value)}'
                )
            if value.dim() != 4:
                raise ValueError(
                    f'{name} must have shape (B, C, H, W), '
                    f'got {tuple(value.shape)}'
                )
            if not value.is_floating_point():
                raise TypeError(
                    f'{name} must be floating point, got {value.dtype}'
                )
        B, K, H, W = batch_heatmaps.shape
        if min(B, K, H, W) == 0:
            raise ValueError(
                'batch_heatmaps must be non-empty, got shape '
                f'{tuple(batch_heatmaps.shape)}'
            )
        if (
            batch_tags.shape[0] != B
            or batch_tags.shape[2:] != (H, W)
            or batch_tags.device != batch_heatmaps.device
        ):
            raise ValueError(
                'batch_tags must be on the device of batch_heatmaps and of '
                f'shape (B={B}, K*L, H={H}, W={W}), got '
                f'{tuple(batch_tags.shape)} on {batch_tags.device} for '
                f'batch_heatmaps {tuple(batch_heatmaps.shape)} on '
                f'{batch_heatmaps.device}'
            )
        C = batch_tags.shape[1]
        if C == 0 or C % K:
            raise ValueError(
                f'batch_tags has {C} channels, which is not a positive '
                f'multiple of the K={K} keypoint types of batch_heatmaps'
            )
        if self.decode_keypoint_order and len(self.decode_keypoint_order) != K:
            raise ValueError(
                f'decode_keypoint_order has {len(self.decode_keypoint_order)}'
                f' entries but batch_heatmaps has K={K} keypoint types'
            )
        # NaN and inf propagate into the sums, fast passes; only an
        # overflowing sum of finite values needs the full check.
        if not bool(torch.isfinite(batch_heatmaps.sum() + batch_tags.sum())):
            for name, value in (
                ('batch_heatmaps', batch_heatmaps),
                ('batch_tags', batch_tags),
            ):
                if not bool(torch.isfinite(value).all()):
                    raise ValueError(f'{name} contains NaN or inf values')
        return C // K

    def _top_candidates(
        self, heatmaps: Tensor, tags: Tensor, num_tag_dims: int
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
        num_cands = min(self.decode_topk, H * W)
        chunk = _chunk_length(heatmaps.device, K * H * W * (num_tag_dims + 1))
        vals, pixels, cand_tags = [], [], []
        for start in range(0, B, chunk):
            part = heatmaps[start : start + chunk]
            pooled = _max_filter(part, self.decode_nms_kernel)
            # part - (pooled - part) * _EXCLUDED in one pass: peaks keep
            # their value, other pixels fall far below any threshold (an
            # arithmetic mask: torch's CPU comparisons and where() are
            # several times slower).
            part_vals, part_pixels = (
                torch.lerp(part, pooled, -_EXCLUDED)
                .flatten(2)
                .topk(num_cands, dim=-1)
            )
            vals.append(part_vals)
            pixels.append(part_pixels)
            cand_tags.append(
                tags[start : start + chunk]
                .view(-1, num_tag_dims, K, H * W)
                .gather(
                    3, part_pixels[:, None].expand(-1, num_tag_dims, -1, -1)
                )
                .permute(0, 2, 3, 1)
            )
        return tuple(
            (part[0] if len(part) == 1 else torch.cat(part)).cpu().numpy()
            for part in (vals, pixels, cand_tags)
        )

    def _group_candidates(
        self, vals: np.ndarray, tags: np.ndarray, order: Sequence[int]
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Group the candidates of one image into instances by their tags.

        Note:

            - keypoint number: K
            - candidate number: T
            - embedding tag dimension: L
            - group number: G

        Args:
            vals (np.ndarray): Candidate values in shape (K, T)
            tags (np.ndarray): Candidate tags in shape (K, T, L)
            order (Sequence[int]): The grouping order of the keypoint types

        Returns:
            tuple:
            - members (np.ndarray): The candidate index of each group's
                keypoints in shape (G, K), -1 where the group has none
            - group_tags (np.ndarray): The mean tag of each group's members
                in shape (G, L)
        """
        K, T, L = tags.shape
        members = np.full((K * T, K), -1, dtype=np.int64)
        tag_sums = np.zeros((K * T, L))
        counts = np.zeros((K * T, 1))
        tags = tags.astype(np.float64)
        # Candidates come sorted by value: those above the threshold are a
        # prefix.
        num_above = (vals > self.decode_keypoint_thr).sum(axis=1).tolist()
        num_groups = 0
        for k in order:
            num_cands = num_above[k]
            if num_cands == 0:
                continue
            cand_tags = tags[k, :num_cands]
            new_cands = slice(None)
            if num_groups:
                means = tag_sums[:num_groups] / counts[:num_groups]
                if L == 1:
                    dists = np.abs(cand_tags - means[:, 0])
                else:
                    dists = np.sqrt(
                        np.square(cand_tags[:, None] - means).sum(axis=-1)
                    )
                costs = dists.round() * 100 - vals[k, :num_cands, None]
                rows, cols = linear_sum_assignment(costs)
                accepted = dists[rows, cols] < self.decode_tag_thr
                rows, cols = rows[accepted], cols[accepted]
                members[cols, k] = rows
                tag_sums[cols] += cand_tags[rows]
                counts[cols] += 1
                if len(rows) == num_cands:
                    continue
                unmatched = np.ones(num_cands, dtype=bool)
                unmatched[rows] = False
                new_cands = np.flatnonzero(unmatched)
                cand_tags = cand_tags[new_cands]
            added = len(cand_tags)
            new_groups = slice(num_groups, num_groups + added)
            members[new_groups, k] = np.arange(num_cands)[new_cands]
            tag_sums[new_groups] = cand_tags
            counts[new_groups] = 1
            num_groups += added
        return members[:num_groups], tag_sums[:num_groups] / counts[
            :num_groups
        ]

    def _fill_missing(
        self,
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
        score; see :func:`_search_fill_pixels`.

        Note:

            - batch size: B
            - total instance number: G (all images)
            - keypoint number: K
            - embedding tag dimension: L
            - heatmap size: [W, H]

        Args:
            heatmaps (Tensor): Heatmaps in shape (B, K, H, W)
            tags (Tensor): Tag maps in shape (B, K*L, H, W)
            cand_pixels (np.ndarray): Flat positions y*W+x of the heatmap
                peaks in shape (B, K, T)
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
        pair_maps = torch.from_numpy(batch_idx[group_idx] * K + kpt_idx).to(
            device
        )
        pair_tags = torch.from_numpy(group_tags[group_idx]).to(
            device, torch.float32
        )
        pixels = _search_fill_pixels(
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

    def _locate(
        self, heatmaps: Tensor, batch_idx: np.ndarray, positions: np.ndarray
    ) -> np.ndarray:
        """Turn flat positions into (adjusted, shifted) heatmap coordinates.

        Note:

            - batch size: B
            - total instance number: G (all images)
            - keypoint number: K
            - heatmap size: [W, H]

        Args:
            heatmaps (Tensor): Heatmaps in shape (B, K, H, W)
            batch_idx (np.ndarray): The image of each instance in shape (G, )
            positions (np.ndarray): Flat keypoint positions y*W+x in shape
                (G, K), -1 where missing

        Returns:
            np.ndarray: Keypoint coordinates in the heatmap space in shape
            (G, K, 2); a missing keypoint is at (0, 0)
        """
        W = heatmaps.shape[3]
        present = positions >= 0
        safe = np.where(present, positions, 0)
        keypoints = np.stack([safe % W, safe // W], axis=-1).astype(np.float64)
        if positions.size == 0:
            return keypoints
        if self.adjust:
            if self.use_udp:
                offsets = self._dark_udp_offsets(heatmaps, batch_idx, safe)
            else:
                offsets = self._quarter_offsets(heatmaps, batch_idx, safe)
            keypoints += offsets
        keypoints += self.decode_center_shift
        keypoints[~present] = 0
        return keypoints

    def _gather_neighbours(
        self,
        maps: Tensor,
        batch_idx: np.ndarray,
        positions: np.ndarray,
        steps: Sequence[Tuple[int, int]],
        pad: int,
    ) -> List[np.ndarray]:
        """Read maps at integer offsets (dx, dy) from the given positions;
        ``maps`` is padded by ``pad`` pixels on each side of the (H, W) ones
        the positions refer to."""
        B, K, padded_h, padded_w = maps.shape
        W = padded_w - 2 * pad
        xs = positions % W + pad
        ys = positions // W + pad
        map_starts = (batch_idx[:, None] * K + np.arange(K)) * (
            padded_h * padded_w
        )
        # Clipped rows and columns once per offset (np.clip is slow on
        # small arrays).
        columns = {
            dx: np.minimum(np.maximum(xs + dx, 0), padded_w - 1)
            for dx in {dx for dx, _ in steps}
        }
        rows = {
            dy: np.minimum(np.maximum(ys + dy, 0), padded_h - 1) * padded_w
            + map_starts
            for dy in {dy for _, dy in steps}
        }
        flat = np.stack([rows[dy] + columns[dx] for dx, dy in steps])
        values = (
            maps.reshape(-1)
            .index_select(
                0, torch.from_numpy(flat.reshape(-1)).to(maps.device)
            )
            .cpu()
            .numpy()
            .astype(np.float64)
            .reshape(flat.shape)
        )
        return list(values)

    def _quarter_offsets(
        self, heatmaps: Tensor, batch_idx: np.ndarray, positions: np.ndarray
    ) -> np.ndarray:
        """Quarter-pixel offsets toward the higher neighbour along x and y;
        zero along an axis where either neighbour is outside the heatmap or
        both are equal."""
        H, W = heatmaps.shape[2:]
        right, left, below, above = self._gather_neighbours(
            heatmaps,
            batch_idx,
            positions,
            [(1, 0), (-1, 0), (0, 1), (0, -1)],
            pad=0,
        )
        xs, ys = positions % W, positions // W
        dx = np.where((xs > 0) & (xs < W - 1), right - left, 0)
        dy = np.where((ys > 0) & (ys < H - 1), below - above, 0)
        return np.stack([np.sign(dx), np.sign(dy)], axis=-1) * 0.25

    def _dark_udp_offsets(
        self, heatmaps: Tensor, batch_idx: np.ndarray, positions: np.ndarray
    ) -> np.ndarray:
        """DARK-UDP offsets (one Newton step on the log of the blurred
        heatmap), as mmpose's ``refine_keypoints_dark_udp``."""
        log_maps = F.pad(
            self._log_blurred(heatmaps), (1, 1, 1, 1), mode='replicate'
        )
        (center, right, below, below_right, above_left, left, above) = (
            self._gather_neighbours(
                log_maps,
                batch_idx,
                positions,
                [(0, 0), (1, 0), (0, 1), (1, 1), (-1, -1), (-1, 0), (0, -1)],
                pad=1,
            )
        )
        dx = 0.5 * (right - left)
        dy = 0.5 * (below - above)
        eps = np.finfo(np.float32).eps
        dxx = right - 2 * center + left + eps
        dyy = below - 2 * center + above + eps
        dxy = 0.5 * (
            below_right
            - right
            - below
            + 2 * center
            - left
            - above
            + above_left
        )
        det = dxx * dyy - dxy**2
        with np.errstate(divide='ignore', invalid='ignore'):
            offset_x = -(dyy * dx - dxy * dy) / det
            offset_y = -(dxx * dy - dxy * dx) / det
        offsets = np.stack([offset_x, offset_y], axis=-1)
        # A singular Hessian (flat log-heatmap) gives no usable step.
        return np.where(np.isfinite(offsets), offsets, 0)

    def _log_blurred(self, heatmaps: Tensor) -> Tensor:
        """Blur each heatmap with OpenCV's Gaussian kernel over a zero
        border, rescale it to its original maximum and take the log of its
        clip to [1e-3, 50], as mmpose's DARK-UDP modulation."""
        B, K, H, W = heatmaps.shape
        size = self.decode_gaussian_kernel
        kernel_1d = torch.from_numpy(
            cv2.getGaussianKernel(size, 0).astype(np.float32)[:, 0]
        ).to(heatmaps.device)
        kernel = (kernel_1d[:, None] * kernel_1d[None, :])[None, None]
        blurred = F.conv2d(
            heatmaps.reshape(B * K, 1, H, W), kernel, padding=size // 2
        ).view(B, K, H, W)
        original_max = heatmaps.amax(dim=(2, 3), keepdim=True)
        blurred_max = blurred.amax(dim=(2, 3), keepdim=True)
        # An all-zero heatmap blurs to zero: leave it unscaled.
        ratio = torch.where(
            blurred_max != 0,
            original_max / blurred_max,
            torch.ones_like(blurred_max),
        )
        return (blurred * ratio).clamp(1e-3, 50.0).log()

    def _check_encode_inputs(
        self, keypoints: np.ndarray, keypoints_visible: Optional[np.ndarray]
    ) -> Tuple[np.ndarray, np.ndarray]:
        if not isinstance(keypoints, np.ndarray):
            raise TypeError(
                f'keypoints must be a np.ndarray, got {type(keypoints)}'
            )
        if keypoints.ndim != 3 or keypoints.shape[2] != 2:
            raise ValueError(
                f'keypoints must have shape (N, K, 2), got {keypoints.shape}'
            )
        if not np.issubdtype(keypoints.dtype, np.number):
            raise TypeError(
                f'keypoints must be numeric, got dtype {keypoints.dtype}'
            )
        if not np.isfinite(keypoints).all():
            raise ValueError('keypoints contains NaN or inf values')
        if keypoints_visible is None:
            keypoints_visible = np.ones(keypoints.shape[:2], dtype=np.float32)
        elif not isinstance(keypoints_visible, np.ndarray):
            raise TypeError(
                'keypoints_visible must be a np.ndarray or None, '
                f'got {type(keypoints_visible)}'
            )
        elif keypoints_visible.shape != keypoints.shape[:2]:
            raise ValueError(
                'keypoints_visible must have shape (N, K) = '
                f'{keypoints.shape[:2]}, got {keypoints_visible.shape}'
            )
        return keypoints, keypoints_visible
