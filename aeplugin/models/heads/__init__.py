from .ae_head import AssociativeEmbeddingHead

__all__ = ['AssociativeEmbeddingHead']
