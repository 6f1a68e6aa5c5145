from .atomic_checkpoint_hook import AtomicCheckpointHook
from .bottomup_visualization_hook import BottomupVisualizationHook
from .channels_last_hook import ChannelsLastHook
from .checkpoint_match_hook import CheckpointMatchHook
from .compile_backbone_hook import CompileBackboneHook
from .epoch_seed_hook import EpochSeedHook
from .progress_logger_hook import ProgressLoggerHook

__all__ = [
    'AtomicCheckpointHook',
    'BottomupVisualizationHook',
    'ChannelsLastHook',
    'CheckpointMatchHook',
    'CompileBackboneHook',
    'EpochSeedHook',
    'ProgressLoggerHook',
]
