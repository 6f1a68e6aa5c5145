"""Bilinear x2 upsampling of maps in the codec's pixel convention."""

import torch
from torch import Tensor


def upsample_maps_2x(maps: Tensor) -> Tensor:
    """Upsample maps by 2 with output pixel ``i`` at input pixel ``i / 2``.

    The codec (non-UDP) puts input pixel ``x`` at map pixel ``x / t``, so a
    map at stride t and one at stride t/2 share pixel 0 and pixel ``i`` of
    the finer map lies at pixel ``i / 2`` of the coarser one: even output
    pixels copy an input pixel, odd ones average two neighbours, and the
    last odd row and column repeat the border (as :func:`resample_maps`
    does). ``F.interpolate`` (``align_corners=False``) would shift the maps
    by a quarter of an input pixel instead. Built from slicing, addition and
    reshapes only, so an exported ONNX graph keeps dynamic sizes.

    Note:
        - batch size: B
        - channels: C
        - input size: [w, h]

    Args:
        maps (Tensor): Maps in shape (B, C, h, w)

    Returns:
        Tensor: The maps in shape (B, C, 2h, 2w)
    """
    wide = _upsample_last_dim(maps)
    return _upsample_last_dim(wide.transpose(-1, -2)).transpose(-1, -2)


def _upsample_last_dim(maps: Tensor) -> Tensor:
    """(..., n) -> (..., 2n): ``out[2j] = in[j]``, ``out[2j+1] = (in[j] +
    in[min(j+1, n-1)]) / 2``."""
    following = torch.cat([maps[..., 1:], maps[..., -1:]], dim=-1)
    return torch.stack([maps, (maps + following) / 2], dim=-1).flatten(-2)
