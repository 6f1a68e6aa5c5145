"""Stacked hourglass backbone of Associative Embedding (Newell et al. 2017).

Everything the network needs is in this file, read top to bottom: the
residual unit (an option), the recursive hourglass, one stack with its
intermediate prediction, and the backbone that chains the stacks.
"""

import copy
import functools
from contextlib import nullcontext
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule
from mmpose.models.backbones.base_backbone import BaseBackbone
from mmpose.utils.typing import OptConfigType
from torch import Tensor, nn

from aeplugin.registry import MODELS


class ResidualBlock(nn.Module):
    """Pre-activation bottleneck residual unit of the 2016 stacked hourglass.

    norm -> act -> 1x1 conv (C_out / 2) -> norm -> act -> 3x3 conv ->
    norm -> act -> 1x1 conv (C_out), added to the input (through a 1x1
    conv when the channel count changes).

    Note:
        - batch size: B
        - input channels: C_in
        - output channels: C_out
        - feature size: [W, H]

    Args:
        in_channels (int): C_in
        out_channels (int): C_out
        norm_cfg (dict, optional): Norm layer config; ``None`` for no norm
        act_cfg (dict, optional): Activation layer config
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm_cfg: OptConfigType = dict(type='BN', requires_grad=True),
        act_cfg: OptConfigType = dict(type='ReLU'),
    ) -> None:
        super().__init__()
        mid_channels = out_channels // 2
        # The activation comes before the conv, so an in-place one would
        # overwrite the block input that the shortcut still needs.
        unit = functools.partial(
            ConvModule,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            inplace=False,
            order=('norm', 'act', 'conv'),
        )
        self.residual = nn.Sequential(
            unit(in_channels, mid_channels, 1),
            unit(mid_channels, mid_channels, 3, padding=1),
            unit(mid_channels, out_channels, 1),
        )
        if in_channels == out_channels:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the unit.

        Args:
            x (Tensor): Features in shape (B, C_in, H, W)

        Returns:
            Tensor: Features in shape (B, C_out, H, W)
        """
        return self.shortcut(x) + self.residual(x)


def build_block(
    block: str,
    in_channels: int,
    out_channels: int,
    norm_cfg: OptConfigType,
    act_cfg: OptConfigType,
) -> nn.Module:
    """Build the unit that keeps the resolution.

    Args:
        block (str): ``'conv'`` for conv 3x3 -> norm -> act (AE paper) or
            ``'residual'`` for :class:`ResidualBlock` (2016 hourglass)
        in_channels (int): Input channels
        out_channels (int): Output channels
        norm_cfg (dict, optional): Norm layer config; ``None`` for no norm
        act_cfg (dict, optional): Activation layer config

    Returns:
        nn.Module: The unit
    """
    if block == 'conv':
        return ConvModule(
            in_channels,
            out_channels,
            3,
            padding=1,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )
    if block == 'residual':
        return ResidualBlock(in_channels, out_channels, norm_cfg, act_cfg)
    raise ValueError(f"block must be 'conv' or 'residual', got {block!r}")


class Hourglass(nn.Module):
    """One hourglass: recursive max-pool down / nearest upsample up, with a
    skip branch at the same resolution added at every level.

    At a level with C channels: ``skip_conv`` keeps C channels; after a 2x2
    max-pool ``down_conv`` widens to C + increase, ``inner`` is the next
    level (or one more unit at the bottom), ``up_conv`` narrows back to C
    before the 2x nearest upsampling.

    Note:
        - batch size: B
        - channels: C
        - feature size: [W, H], both multiples of 2**depth

    Args:
        depth (int): Number of 2x downsamplings
        channels (int): C
        increase (int): Channels added at each lower level
        block (str): Unit type, see :func:`build_block`
        norm_cfg (dict, optional): Norm layer config; ``None`` for no norm
        act_cfg (dict, optional): Activation layer config
    """

    def __init__(
        self,
        depth: int,
        channels: int,
        increase: int,
        block: str,
        norm_cfg: OptConfigType,
        act_cfg: OptConfigType,
    ) -> None:
        super().__init__()
        inner_channels = channels + increase
        self.skip_conv = build_block(
            block, channels, channels, norm_cfg, act_cfg
        )
        self.pool = nn.MaxPool2d(2, 2)
        self.down_conv = build_block(
            block, channels, inner_channels, norm_cfg, act_cfg
        )
        if depth > 1:
            self.inner = Hourglass(
                depth - 1, inner_channels, increase, block, norm_cfg, act_cfg
            )
        else:
            self.inner = build_block(
                block, inner_channels, inner_channels, norm_cfg, act_cfg
            )
        self.up_conv = build_block(
            block, inner_channels, channels, norm_cfg, act_cfg
        )
        self.upsample = nn.Upsample(scale_factor=2, mode='nearest')

    def forward(self, x: Tensor) -> Tensor:
        """Apply the hourglass.

        Args:
            x (Tensor): Features in shape (B, C, H, W)

        Returns:
            Tensor: Features in shape (B, C, H, W)
        """
        low = self.up_conv(self.inner(self.down_conv(self.pool(x))))
        return self.skip_conv(x) + self.upsample(low)


class HourglassStack(nn.Module):
    """One stack: hourglass, two 3x3 convs, a 1x1 prediction conv and, but
    for the last stack, the 1x1 convs that feed the prediction and the
    features back into the next stack's input (intermediate supervision).

    Note:
        - batch size: B
        - feature channels: C
        - prediction channels: C_out (K * (1 + L) for AE)
        - feature size: [W, H]

    Args:
        feat_channels (int): C
        out_channels (int): C_out
        depth (int): Downsamplings of the hourglass
        increase (int): Channels added at each hourglass level
        block (str): Unit type inside the hourglass, see :func:`build_block`
        with_remap (bool): Whether to build the convs that make the next
            stack's input (``False`` for the last stack)
        norm_cfg (dict, optional): Norm layer config; ``None`` for no norm
        act_cfg (dict, optional): Activation layer config
    """

    def __init__(
        self,
        feat_channels: int,
        out_channels: int,
        depth: int,
        increase: int,
        block: str,
        with_remap: bool,
        norm_cfg: OptConfigType,
        act_cfg: OptConfigType,
    ) -> None:
        super().__init__()
        self.hourglass = Hourglass(
            depth, feat_channels, increase, block, norm_cfg, act_cfg
        )
        self.feature_convs = nn.Sequential(
            *[
                ConvModule(
                    feat_channels,
                    feat_channels,
                    3,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                )
                for _ in range(2)
            ]
        )
        self.prediction_conv = ConvModule(
            feat_channels, out_channels, 1, norm_cfg=None, act_cfg=None
        )
        self.with_remap = with_remap
        if with_remap:
            self.remap_prediction = ConvModule(
                out_channels, feat_channels, 1, norm_cfg=norm_cfg, act_cfg=None
            )
            self.remap_feature = ConvModule(
                feat_channels,
                feat_channels,
                1,
                norm_cfg=norm_cfg,
                act_cfg=None,
            )

    def forward(self, x: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """Apply the stack.

        Args:
            x (Tensor): Stack input in shape (B, C, H, W)

        Returns:
            tuple:
            - prediction (Tensor): In shape (B, C_out, H, W)
            - next_input (Tensor | None): Next stack's input in shape
              (B, C, H, W); ``None`` when ``with_remap`` is ``False``
        """
        features = self.feature_convs(self.hourglass(x))
        prediction = self.prediction_conv(features)
        if not self.with_remap:
            return prediction, None
        next_input = (
            x
            + self.remap_prediction(prediction)
            + self.remap_feature(features)
        )
        return prediction, next_input


class _RestoreBuffers:
    """Put a module's buffers (norm running stats) back on exit.

    Gradient checkpointing runs a stack's forward again during backward; in
    train mode that second run would update the norm running statistics a
    second time with the same batch.
    """

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self.saved = []

    def __enter__(self) -> None:
        self.saved = [
            (buffer, buffer.clone()) for buffer in self.module.buffers()
        ]

    def __exit__(self, *exc_info) -> bool:
        with torch.no_grad():
            for buffer, value in self.saved:
                buffer.copy_(value)
        self.saved = []
        return False


def _checkpoint_contexts(module: nn.Module):
    return nullcontext(), _RestoreBuffers(module)


@MODELS.register_module()
class HourglassAE(BaseBackbone):
    """Stacked hourglass network of Associative Embedding.

    `Associative Embedding: End-to-End Learning for Joint Detection and
    Grouping <https://arxiv.org/abs/1611.05424>`__, the network of the
    official code (princeton-vl/pose-ae-train) and of mmpose's
    ``HourglassAENet``: a stem to 1/4 resolution, then ``num_stacks``
    hourglasses, each predicting heatmaps and tags that are remapped into the
    next stack's input. Unlike mmpose's ``HourglassAENet``, ``norm_cfg``
    reaches every level of the hourglass. mmpose checkpoints convert with
    ``tools/model_converters/convert_mmpose_hourglass.py``.

    Note:
        - batch size: B
        - keypoint number: K
        - embedding tag dimension: L
        - input size: [W, H], both multiples of 4 * 2**depth
        - prediction channels: C_out (K * (1 + L), tag channel ``l*K + k``
          after the K heatmaps)

    Args:
        num_stacks (int): Number of hourglass stacks. Defaults to 4
        in_channels (int): Image channels. Defaults to 3
        feat_channels (int): Channels between the stacks and at the top of
            each hourglass. Defaults to 256
        increase (int): Channels added at each hourglass level (256, 384,
            512, 640, 768 for the paper). Defaults to 128
        depth (int): Downsamplings in each hourglass. Defaults to 4
        out_channels (int): C_out. Defaults to 34 (COCO, K=17, L=1)
        stem_channels (Sequence[int]): Channels of the stem's 7x7 stride-2
            conv and of its first unit. Defaults to (64, 128)
        block (str): Unit of the stem and the hourglasses: ``'conv'`` (3x3
            conv -> norm -> act, the AE paper) or ``'residual'``
            (pre-activation bottleneck, the 2016 stacked hourglass).
            Defaults to ``'conv'``
        norm_cfg (dict, optional): Norm layer config; ``None`` trains
            without norm as the official code (the convs then have a bias).
            Defaults to ``dict(type='BN', requires_grad=True)``
        act_cfg (dict, optional): Activation layer config. Defaults to
            ``dict(type='ReLU')``
        with_cp (bool): Gradient checkpointing per stack: saves memory, costs
            one more forward of each stack in backward. Defaults to False
        init_cfg (dict | list[dict], optional): Initialization config.
            Defaults to normal(std=0.001) convs and norm weights of 1, as
            mmpose

    Example:
        >>> import torch
        >>> from aeplugin.models.backbones import HourglassAE
        >>> model = HourglassAE(num_stacks=2, feat_channels=32, increase=16,
        ...                     depth=2)
        >>> outputs = model.eval()(torch.rand(1, 3, 64, 64))
        >>> [tuple(output.shape) for output in outputs]
        [(1, 34, 16, 16), (1, 34, 16, 16)]
    """

    def __init__(
        self,
        num_stacks: int = 4,
        in_channels: int = 3,
        feat_channels: int = 256,
        increase: int = 128,
        depth: int = 4,
        out_channels: int = 34,
        stem_channels: Sequence[int] = (64, 128),
        block: str = 'conv',
        norm_cfg: OptConfigType = dict(type='BN', requires_grad=True),
        act_cfg: OptConfigType = dict(type='ReLU'),
        with_cp: bool = False,
        init_cfg: Union[dict, Sequence[dict], None] = [
            dict(type='Normal', std=0.001, layer=['Conv2d']),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
        ],
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_stacks < 1:
            raise ValueError(f'num_stacks must be >= 1, got {num_stacks}')
        if depth < 1:
            raise ValueError(f'depth must be >= 1, got {depth}')
        if increase < 0:
            raise ValueError(f'increase must be >= 0, got {increase}')
        if len(stem_channels) != 2:
            raise ValueError(
                f'stem_channels must hold 2 values, got {tuple(stem_channels)}'
            )
        if block not in ('conv', 'residual'):
            raise ValueError(
                f"block must be 'conv' or 'residual', got {block!r}"
            )
        norm_cfg = copy.deepcopy(norm_cfg)
        act_cfg = copy.deepcopy(act_cfg)

        self.num_stacks = num_stacks
        self.in_channels = in_channels
        self.depth = depth
        self.with_cp = with_cp

        conv_channels, block_channels = stem_channels
        self.stem = nn.Sequential(
            ConvModule(
                in_channels,
                conv_channels,
                7,
                stride=2,
                padding=3,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
            ),
            build_block(
                block, conv_channels, block_channels, norm_cfg, act_cfg
            ),
            nn.MaxPool2d(2, 2),
            build_block(
                block, block_channels, block_channels, norm_cfg, act_cfg
            ),
            build_block(
                block, block_channels, feat_channels, norm_cfg, act_cfg
            ),
        )
        self.stacks = nn.ModuleList(
            [
                HourglassStack(
                    feat_channels,
                    out_channels,
                    depth,
                    increase,
                    block,
                    with_remap=index < num_stacks - 1,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                )
                for index in range(num_stacks)
            ]
        )

    def train(self, mode: bool = True) -> 'HourglassAE':
        """Set the training mode and return the module, as ``nn.Module``
        does (mmpose's ``BaseBackbone.train`` returns ``None``, which also
        breaks ``eval()`` and chains like ``model.to(device).train()``)."""
        super().train(mode)
        return self

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Predict with every stack.

        Args:
            x (Tensor): Images in shape (B, in_channels, H, W)

        Returns:
            tuple[Tensor]: ``num_stacks`` predictions, each in shape
            (B, C_out, H / 4, W / 4); the last one is the final prediction
        """
        self._check_input(x)
        stack_input = self.stem(x)
        predictions = []
        for stack in self.stacks:
            if self.with_cp and torch.is_grad_enabled():
                prediction, stack_input = cp.checkpoint(
                    stack,
                    stack_input,
                    use_reentrant=False,
                    context_fn=functools.partial(_checkpoint_contexts, stack),
                )
            else:
                prediction, stack_input = stack(stack_input)
            predictions.append(prediction)
        return tuple(predictions)

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'x must be in shape (B, {self.in_channels}, H, W), got '
                f'{tuple(x.shape)}'
            )
        stride = 4 * 2**self.depth
        height, width = x.shape[-2:]
        if height % stride or width % stride:
            raise ValueError(
                f'x height and width must be multiples of {stride} '
                f'(4 * 2**depth, depth={self.depth}), got '
                f'{tuple(x.shape)}'
            )
