from .transforms import (
    BottomupCrowdMask,
    BottomupRandomFlip,
    PackBottomupPoseInputs,
)

__all__ = ['BottomupCrowdMask', 'BottomupRandomFlip', 'PackBottomupPoseInputs']
