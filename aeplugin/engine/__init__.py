from .checkpoint import allow_runner_checkpoints
from .distributed import (
    DeviceAwareDistributedDataParallel,
    init_cpu_distributed,
)

__all__ = [
    'allow_runner_checkpoints',
    'DeviceAwareDistributedDataParallel',
    'init_cpu_distributed',
]
