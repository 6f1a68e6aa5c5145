from .atomic_checkpoint_hook import AtomicCheckpointHook
from .channels_last_hook import ChannelsLastHook
from .checkpoint_match_hook import CheckpointMatchHook
from .compile_backbone_hook import CompileBackboneHook
from .epoch_seed_hook import EpochSeedHook

__all__ = [
    'AtomicCheckpointHook',
    'ChannelsLastHook',
    'CheckpointMatchHook',
    'CompileBackboneHook',
    'EpochSeedHook',
]
