"""Inference API: build a model, run it on images, draw the results.

Imported explicitly (``from aeplugin.apis import ...``); ``import aeplugin``
does not load it.
"""

from .inference import inference_bottomup, init_model, sample_keypoint_tags
from .test_time import DEFAULT_SCALES, TTA_MODES, apply_test_time_options
from .visualization import draw_poses

__all__ = [
    'DEFAULT_SCALES',
    'TTA_MODES',
    'apply_test_time_options',
    'draw_poses',
    'inference_bottomup',
    'init_model',
    'sample_keypoint_tags',
]
