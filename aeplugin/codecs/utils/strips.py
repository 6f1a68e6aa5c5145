"""Raster strips and chunks: the layout of the decode's batched passes.

Both the top-k of the heatmap peaks (:mod:`peaks`) and the fill search
(:mod:`fill_search`) cut each flattened map into strips of
``STRIP_LENGTH`` values in raster order and bound whole strips before
they look at single values: strips need no copy to be reduced, unlike
square blocks. The passes over many maps run in chunks whose size
:func:`chunk_length` gives.
"""

from typing import NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

# Values per strip: 64 balance the bounds per strip against the values
# per surviving strip (strips of 32 or 128 are no faster at 128 or 512).
STRIP_LENGTH = 64
# Factor of the arithmetic masks: a value plus (minus) a positive excess
# times it is out of reach of a minimum (maximum).
EXCLUDED = 1e30
# Floats per chunk of the batched tensor passes: on CPU 1 MiB, small enough
# to stay in cache; on other devices 64 MiB, which only bounds the memory
# for large batches, heatmaps and crowds.
CPU_CHUNK_ELEMENTS = 1 << 18
DEVICE_CHUNK_ELEMENTS = 1 << 24


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


def cut_strips(values: Tensor, pad_value: Optional[float] = None) -> Tensor:
    """Cut the last dimension in strips of ``STRIP_LENGTH`` values, the
    last strip padded with ``pad_value``, or with copies of the last value
    for ``None``.

    Note:

        - row length: S
        - strip number: N, ``ceil(S / STRIP_LENGTH)``

    Args:
        values (Tensor): Rows in shape (..., S)
        pad_value (float, optional): The value of the padding

    Returns:
        Tensor: The strips in shape (..., N, STRIP_LENGTH), a view of
        contiguous ``values`` when S is a multiple of ``STRIP_LENGTH``
    """
    size = values.shape[-1]
    num_strips = -(-size // STRIP_LENGTH)
    pad = num_strips * STRIP_LENGTH - size
    if pad:
        if pad_value is None:
            last = values[..., -1:]
            values = torch.cat(
                [values, last.expand(*last.shape[:-1], pad)], -1
            )
        else:
            values = F.pad(values, (0, pad), value=pad_value)
    return values.reshape(*values.shape[:-1], num_strips, STRIP_LENGTH)


class MapStrips(NamedTuple):
    """The heatmaps and tag maps of a batch in strips, per map ``b*K + k``.

    Padding pixels get heat -inf, hence any cost +inf, and the tag of the
    last pixel, which keeps the tag boxes of the last strip valid.

    Note:

        - map number: M (B*K)
        - strip number per map: N
        - strip length: S (``STRIP_LENGTH``)
        - embedding tag dimension: L

    Attributes:
        heat (Tensor): Strip heats in shape (M*N, S)
        tags (Tensor): Their tags, dimension-major, in shape (M*N, L, S)
        tag_pixels (Tensor): Their tags, pixel-major, in shape (M*N, S, L)
    """

    heat: Tensor
    tags: Tensor
    tag_pixels: Tensor

    @classmethod
    def of_maps(cls, heatmaps: Tensor, tags: Tensor) -> 'MapStrips':
        """Cut every map, flattened in raster order, in strips.

        Args:
            heatmaps (Tensor): Heatmaps in shape (B, K, H, W)
            tags (Tensor): Tag maps in shape (B, K*L, H, W), channel
                ``l*K + k`` holding dimension l of keypoint k

        Returns:
            MapStrips: The strips; ``heat`` is a view when H*W is a
            multiple of ``STRIP_LENGTH``, and so are the tags when L == 1
        """
        B, K, H, W = heatmaps.shape
        L = tags.shape[1] // K
        heat = cut_strips(heatmaps.reshape(B * K, H * W), float('-inf'))
        strips = cut_strips(
            tags.view(B, L, K, H * W).transpose(1, 2).reshape(B * K, L, -1)
        ).transpose(1, 2)
        return cls(
            heat.reshape(-1, STRIP_LENGTH),
            strips.reshape(-1, L, STRIP_LENGTH),
            strips.transpose(2, 3).reshape(-1, STRIP_LENGTH, L),
        )

    def bounds(self, num_maps: int) -> Tuple[Tensor, Tensor, Tensor]:
        """The heat maximum and tag box of every strip, per map.

        Args:
            num_maps (int): The number of maps M

        Returns:
            tuple:
            - heat_max (Tensor): Strip heat maxima in shape (M, N)
            - tag_min (Tensor): Strip tag minima in shape (M, N, L)
            - tag_max (Tensor): Strip tag maxima in shape (M, N, L)
        """
        L = self.tags.shape[1]
        return (
            self.heat.amax(dim=-1).view(num_maps, -1),
            self.tags.amin(dim=-1).view(num_maps, -1, L),
            self.tags.amax(dim=-1).view(num_maps, -1, L),
        )
