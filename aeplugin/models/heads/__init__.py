from .ae_head import AssociativeEmbeddingHead
from .higher_ae_head import HigherAssociativeEmbeddingHead

__all__ = ['AssociativeEmbeddingHead', 'HigherAssociativeEmbeddingHead']
