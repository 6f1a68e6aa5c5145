"""Fold eval-mode batch norms into the convolutions before them."""

import torch
from mmcv.cnn import ConvModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def _foldable(conv: nn.Module, norm: nn.Module) -> bool:
    """Whether ``norm`` is a batch norm with running statistics that can be
    folded into ``conv``, a plain (not transposed) 2-D convolution."""
    if not isinstance(norm, _BatchNorm) or not norm.track_running_stats:
        return False
    if norm.training:
        raise ValueError(
            f'{type(norm).__name__} is in training mode: its output uses '
            'batch statistics, which cannot be folded; call model.eval() '
            'first'
        )
    return isinstance(conv, nn.Conv2d) and conv.out_channels == (
        norm.num_features
    )


@torch.no_grad()
def _fold(conv: nn.Conv2d, norm: _BatchNorm) -> None:
    """Make ``conv`` compute ``norm(conv(x))`` (``norm`` in eval mode)."""
    scale = (norm.running_var + norm.eps).rsqrt()
    shift = -norm.running_mean * scale
    if norm.affine:
        shift = shift * norm.weight + norm.bias
        scale = scale * norm.weight
    bias = shift if conv.bias is None else conv.bias * scale + shift
    conv.weight = nn.Parameter(conv.weight * scale.view(-1, 1, 1, 1))
    conv.bias = nn.Parameter(bias)


def fuse_conv_bn(model: nn.Module) -> nn.Module:
    """Fold every eval-mode batch norm that directly follows a convolution
    into it, in place, for faster inference with equal outputs.

    Folded are the norm of each mmcv ``ConvModule`` whose ``order`` runs the
    norm right after the conv (``('conv', 'norm', 'act')``, the default),
    and a batch norm right after a ``Conv2d`` in an ``nn.Sequential``. The
    norm is replaced by ``nn.Identity``. Pre-activation units (``order``
    ``('norm', 'act', 'conv')``, as :class:`HourglassAE`'s ``'residual'``
    block) are left as they are: their norm comes before the conv. (mmcv's
    ``fuse_conv_bn`` pairs modules by registration order, so it folds such a
    norm into the wrong conv.)

    Args:
        model (nn.Module): The model, in eval mode

    Returns:
        nn.Module: ``model``, modified in place

    Raises:
        ValueError: A batch norm to fold is in training mode
    """
    for module in model.modules():
        if isinstance(module, ConvModule):
            order = list(module.order)
            if (
                module.with_norm
                and order.index('norm') == order.index('conv') + 1
                and _foldable(module.conv, module.norm)
            ):
                _fold(module.conv, module.norm)
                module._modules[module.norm_name] = nn.Identity()
                module.with_norm = False
        elif isinstance(module, nn.Sequential):
            children = list(module._modules.items())
            for (_, conv), (name, norm) in zip(children, children[1:]):
                if _foldable(conv, norm):
                    _fold(conv, norm)
                    module._modules[name] = nn.Identity()
    return model
