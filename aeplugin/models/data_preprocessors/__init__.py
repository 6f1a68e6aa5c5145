from .bottomup_data_preprocessor import BottomupDataPreprocessor
from .multiscale_pose_data_preprocessor import MultiScalePoseDataPreprocessor

__all__ = ['BottomupDataPreprocessor', 'MultiScalePoseDataPreprocessor']
