"""Inference API: build a model, run it on images, draw the results.

Imported explicitly (``from aeplugin.apis import ...``); ``import aeplugin``
does not load it.
"""

from .demo_options import (
    add_drawing_options,
    add_model_options,
    drawing_options,
    model_from_options,
)
from .inference import inference_bottomup, init_model, sample_keypoint_tags
from .test_time import DEFAULT_SCALES, TTA_MODES, apply_test_time_options
from .visualization import draw_poses

__all__ = [
    'DEFAULT_SCALES',
    'TTA_MODES',
    'add_drawing_options',
    'add_model_options',
    'apply_test_time_options',
    'draw_poses',
    'drawing_options',
    'inference_bottomup',
    'init_model',
    'model_from_options',
    'sample_keypoint_tags',
]
