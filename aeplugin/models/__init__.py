from .backbones import HourglassAE
from .data_preprocessors import MultiScalePoseDataPreprocessor
from .heads import AssociativeEmbeddingHead
from .losses import AELoss
from .pose_estimators import MultiScaleBottomupPoseEstimator

__all__ = [
    'HourglassAE',
    'AssociativeEmbeddingHead',
    'AELoss',
    'MultiScaleBottomupPoseEstimator',
    'MultiScalePoseDataPreprocessor',
]
