from .checkpoint import (
    allow_runner_checkpoints,
    check_checkpoint_complete,
    check_checkpoint_matches,
    checkpoint_mismatches,
    checkpoint_problem,
    find_resumable_checkpoint,
)
from .distributed import finish_distributed, init_cpu_distributed
from .hooks import AtomicCheckpointHook, CheckpointMatchHook, EpochSeedHook
from .optim_wrappers import (
    FiniteLossAmpOptimWrapper,
    FiniteLossCheck,
    FiniteLossOptimWrapper,
)

__all__ = [
    'AtomicCheckpointHook',
    'CheckpointMatchHook',
    'EpochSeedHook',
    'FiniteLossAmpOptimWrapper',
    'FiniteLossCheck',
    'FiniteLossOptimWrapper',
    'allow_runner_checkpoints',
    'check_checkpoint_complete',
    'check_checkpoint_matches',
    'checkpoint_mismatches',
    'checkpoint_problem',
    'find_resumable_checkpoint',
    'finish_distributed',
    'init_cpu_distributed',
]
