"""Exact resampling of a network pass's maps onto the output grid."""

from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def resample_maps(
    maps: Tensor,
    flipped: bool,
    size: Tuple[int, int],
    stride: float,
    udp: bool = False,
) -> Tensor:
    """Resample one pass's maps onto the output grid, exactly.

    The codec puts input pixel ``x`` at heatmap pixel ``x / t`` (t the
    network stride), so a pass at scale ``s`` has its pixel ``j`` at
    input pixel ``j * t / s`` of the original scale, and the mirrored
    maps of a flipped pass have it at ``(j * t + t - 1) / s``: the
    mirror of input pixel ``x`` is ``w - 1 - x`` but the mirror of
    heatmap pixel ``j`` is ``w / t - 1 - j``. ``F.interpolate`` puts
    pixel centres half a pixel apart instead (``align_corners=False``:
    ``(t - 1) / 2`` input pixels off, 1.5 at stride 4) or stretches by
    ``(n - 1) / (m - 1)`` (``align_corners=True``), and mmpose's
    ``shift_heatmap`` moves the flipped maps a whole pixel instead of
    ``(t - 1) / t``; each of these offsets costs COCO AP at OKS 0.75.

    Note:
        - batch size: B
        - channels: C
        - pass map size: [w, h]
        - output size: [W, H]
        - original-scale map width: w0

    Args:
        maps (Tensor): Maps of one pass in shape (B, C, h, w), already
            mirrored back when ``flipped``
        flipped (bool): Whether the pass ran on the mirrored input
        size (tuple): Output size (H, W); output pixel ``i`` lies at
            input pixel ``i * t * w0 / W``
        stride (float): The network stride t, in input pixels per
            heatmap pixel
        udp (bool): Whether the codec uses UDP (``x * (w0 - 1) / (w_in
            - 1)`` instead of ``x / t``): then the corners align and a
            mirrored pass needs no offset

    Returns:
        Tensor: The maps in shape (B, C, H, W)
    """
    h, w = maps.shape[-2:]
    H, W = size
    if (h, w) == (H, W) and not flipped:
        return maps
    options = dict(device=maps.device, dtype=torch.float64)
    if udp:
        # UDP puts the first and the last heatmap pixels on the first
        # and the last input pixels, a grid that mirrors onto itself
        ys = torch.arange(H, **options) * ((h - 1) / max(H - 1, 1))
        xs = torch.arange(W, **options) * ((w - 1) / max(W - 1, 1))
    else:
        # source pixel of output pixel i: at scale s, i * t * w0 / W
        # input pixels of the original scale are i * w / W pixels of
        # this pass
        ys = torch.arange(H, **options) * (h / H)
        xs = torch.arange(W, **options) * (w / W)
        if flipped:
            xs = xs - (stride - 1) / stride
    # grid_sample with align_corners=True reads -1 and 1 as the centres
    # of the first and the last pixel; outside, the border repeats
    gx = 2 * xs / max(w - 1, 1) - 1
    gy = 2 * ys / max(h - 1, 1) - 1
    grid = torch.stack(torch.meshgrid(gy, gx, indexing='ij')[::-1], -1)
    grid = grid.to(maps.dtype).expand(maps.shape[0], H, W, 2)
    return F.grid_sample(
        maps,
        grid,
        mode='bilinear',
        padding_mode='border',
        align_corners=True,
    )
