from .finite_loss_optim_wrapper import (
    FiniteLossAmpOptimWrapper,
    FiniteLossCheck,
    FiniteLossOptimWrapper,
)

__all__ = [
    'FiniteLossAmpOptimWrapper',
    'FiniteLossCheck',
    'FiniteLossOptimWrapper',
]
