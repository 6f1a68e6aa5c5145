from .bottomup_crowd_mask import BottomupCrowdMask
from .bottomup_multiscale_resize import BottomupMultiScaleResize
from .bottomup_random_flip import BottomupRandomFlip
from .pack_bottomup_pose_inputs import PackBottomupPoseInputs
from .pack_higher_bottomup_pose_inputs import PackHigherBottomupPoseInputs
from .pack_multiscale_pose_inputs import PackMultiScalePoseInputs

__all__ = [
    'BottomupCrowdMask',
    'BottomupMultiScaleResize',
    'BottomupRandomFlip',
    'PackBottomupPoseInputs',
    'PackHigherBottomupPoseInputs',
    'PackMultiScalePoseInputs',
]
