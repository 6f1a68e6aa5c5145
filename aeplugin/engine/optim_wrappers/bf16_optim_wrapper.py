from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from aeplugin.registry import OPTIM_WRAPPERS

from .finite_loss_optim_wrapper import FiniteLossCheck


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(FiniteLossCheck, OptimWrapper):
    """Train in bfloat16 autocast on a GPU and in float32 elsewhere, with
    the non-finite loss check of :class:`FiniteLossCheck`.

    bfloat16 has float32's exponent range, so unlike float16 it needs no
    loss scaling: there is no ``GradScaler`` (and none of its per-step
    overflow check). The weights, the optimizer state and the AE loss's
    reductions stay in float32 (``AELoss`` casts half tags up). Whether to
    autocast is decided per forward pass from the model's device: on a
    machine without CUDA, or for a model on the CPU, this is mmengine's
    ``OptimWrapper``, so the same config trains in float32 there.

    The default of the configs (``configs/_base_/default_runtime.py``);
    ``tools/train.py --fp32`` switches to ``OptimWrapper``.

    Args:
        on_cpu (bool): Autocast a model on the CPU too (slow on CPUs
            without bfloat16 units; the tests compare bfloat16 with float32
            training this way). Defaults to ``False``
        nonfinite_loss (str): ``'stop'`` (default) or ``'skip'``
        *args, **kwargs: The arguments of ``OptimWrapper``
    """

    def __init__(self, *args, on_cpu: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_cpu = on_cpu

    @contextmanager
    def optim_context(self, model: nn.Module):
        device = next(model.parameters()).device.type
        enabled = device == 'cuda' or (device == 'cpu' and self.on_cpu)
        with (
            super().optim_context(model),
            torch.autocast(device, dtype=torch.bfloat16, enabled=enabled),
        ):
            yield
