from .atomic_checkpoint_hook import AtomicCheckpointHook
from .checkpoint import allow_runner_checkpoints
from .checkpoint_check import check_checkpoint_matches, checkpoint_mismatches
from .checkpoint_match_hook import CheckpointMatchHook
from .distributed import finish_distributed, init_cpu_distributed
from .epoch_seed_hook import EpochSeedHook
from .finite_loss_amp_optim_wrapper import FiniteLossAmpOptimWrapper
from .finite_loss_check import FiniteLossCheck
from .finite_loss_optim_wrapper import FiniteLossOptimWrapper
from .resume import (
    check_checkpoint_complete,
    checkpoint_problem,
    find_resumable_checkpoint,
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
