from .atomic_checkpoint_hook import AtomicCheckpointHook
from .checkpoint_match_hook import CheckpointMatchHook
from .epoch_seed_hook import EpochSeedHook

__all__ = ['AtomicCheckpointHook', 'CheckpointMatchHook', 'EpochSeedHook']
