from .backbones import HourglassAE
from .data_preprocessors import (
    BottomupDataPreprocessor,
    MultiScalePoseDataPreprocessor,
)
from .heads import AssociativeEmbeddingHead
from .losses import AELoss
from .pose_estimators import MultiScaleBottomupPoseEstimator

__all__ = [
    'BottomupDataPreprocessor',
    'HourglassAE',
    'AssociativeEmbeddingHead',
    'AELoss',
    'MultiScaleBottomupPoseEstimator',
    'MultiScalePoseDataPreprocessor',
]
