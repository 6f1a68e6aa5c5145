from .bottomup_crowd_mask import BottomupCrowdMask
from .bottomup_random_flip import BottomupRandomFlip
from .pack_bottomup_pose_inputs import PackBottomupPoseInputs

__all__ = ['BottomupCrowdMask', 'BottomupRandomFlip', 'PackBottomupPoseInputs']
