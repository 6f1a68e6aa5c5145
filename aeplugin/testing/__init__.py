from .coco import COCO_ORDER, COCO_SIGMAS
from .random_weights import randomize_weights_
from .synthetic_maps import MapNoise, render_ae_maps

__all__ = [
    'COCO_ORDER',
    'COCO_SIGMAS',
    'MapNoise',
    'randomize_weights_',
    'render_ae_maps',
]
