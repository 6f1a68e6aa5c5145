from .synthetic_maps import MapNoise, render_ae_maps

__all__ = ['MapNoise', 'render_ae_maps']
