from .checkpoint import (
    allow_runner_checkpoints,
    check_checkpoint_complete,
    check_checkpoint_matches,
    checkpoint_mismatches,
    checkpoint_problem,
    find_resumable_checkpoint,
)
from .distributed import finish_distributed, init_cpu_distributed
from .hooks import (
    AtomicCheckpointHook,
    ChannelsLastHook,
    CheckpointMatchHook,
    CompileBackboneHook,
    EpochSeedHook,
    ProgressLoggerHook,
)
from .loops import AutoWorkersTrainLoop
from .model_wrappers import ChannelsLastDistributedDataParallel
from .optim_wrappers import (
    BF16OptimWrapper,
    FiniteLossAmpOptimWrapper,
    FiniteLossCheck,
    FiniteLossOptimWrapper,
)

__all__ = [
    'AtomicCheckpointHook',
    'AutoWorkersTrainLoop',
    'BF16OptimWrapper',
    'ChannelsLastDistributedDataParallel',
    'ChannelsLastHook',
    'CheckpointMatchHook',
    'CompileBackboneHook',
    'EpochSeedHook',
    'FiniteLossAmpOptimWrapper',
    'FiniteLossCheck',
    'FiniteLossOptimWrapper',
    'ProgressLoggerHook',
    'allow_runner_checkpoints',
    'check_checkpoint_complete',
    'check_checkpoint_matches',
    'checkpoint_mismatches',
    'checkpoint_problem',
    'find_resumable_checkpoint',
    'finish_distributed',
    'init_cpu_distributed',
]
