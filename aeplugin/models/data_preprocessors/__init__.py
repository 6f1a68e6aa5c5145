from .multiscale_pose_data_preprocessor import MultiScalePoseDataPreprocessor

__all__ = ['MultiScalePoseDataPreprocessor']
