"""Random weights that make small numeric differences visible."""

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def randomize_weights_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give convs fan-in scaled weights and norms non-trivial statistics,
    in place, so that outputs are O(1) and a wrong wiring or fold cannot
    hide under a 1e-4 comparison (the configs' near-zero init makes every
    output nearly 0).

    Args:
        model (nn.Module): The model to change
        seed (int): Seed of the draws

    Returns:
        nn.Module: ``model``
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.normal_(
                    0, (2 / fan_in) ** 0.5, generator=generator
                )
                if module.bias is not None:
                    module.bias.normal_(0, 0.1, generator=generator)
            elif isinstance(module, (_BatchNorm, nn.GroupNorm)):
                if module.affine:
                    module.weight.uniform_(0.5, 1.5, generator=generator)
                    module.bias.normal_(0, 0.1, generator=generator)
                if getattr(module, 'running_mean', None) is not None:
                    module.running_mean.normal_(0, 0.1, generator=generator)
                    module.running_var.uniform_(0.5, 2.0, generator=generator)
    return model
