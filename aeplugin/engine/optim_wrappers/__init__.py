from .bf16_optim_wrapper import BF16OptimWrapper
from .finite_loss_optim_wrapper import (
    FiniteLossAmpOptimWrapper,
    FiniteLossCheck,
    FiniteLossOptimWrapper,
)

__all__ = [
    'BF16OptimWrapper',
    'FiniteLossAmpOptimWrapper',
    'FiniteLossCheck',
    'FiniteLossOptimWrapper',
]
