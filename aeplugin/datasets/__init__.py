from .bottomup_collate import bottomup_collate
from .coco_dataset import CocoDataset
from .mpii_multi_person_dataset import MpiiMultiPersonDataset
from .samplers import ShapeGroupedBatchSampler
from .transforms import (
    BottomupCrowdMask,
    BottomupRandomFlip,
    PackBottomupPoseInputs,
)

__all__ = [
    'BottomupCrowdMask',
    'BottomupRandomFlip',
    'CocoDataset',
    'MpiiMultiPersonDataset',
    'PackBottomupPoseInputs',
    'ShapeGroupedBatchSampler',
    'bottomup_collate',
]
