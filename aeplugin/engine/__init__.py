from .checkpoint import allow_runner_checkpoints
from .distributed import init_cpu_distributed

__all__ = ['allow_runner_checkpoints', 'init_cpu_distributed']
