from .backbones import HourglassAE
from .heads import AssociativeEmbeddingHead
from .losses import AELoss

__all__ = ['HourglassAE', 'AssociativeEmbeddingHead', 'AELoss']
