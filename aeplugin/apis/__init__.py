"""Inference API: build a model, run it on images, draw the results;
export its network to ONNX and run that with onnxruntime.

Imported explicitly (``from aeplugin.apis import ...``); ``import aeplugin``
does not load it.
"""

from .inference import (
    check_keypoint_count,
    inference_bottomup,
    init_model,
    sample_keypoint_tags,
)
from .onnx_export import ExportedNetwork, export_onnx
from .onnx_inference import OnnxBottomupEstimator, init_onnx_model
from .test_time import (
    DEFAULT_SCALES,
    TTA_MODES,
    apply_test_time_options,
    fit_test_input,
)
from .visualization import draw_poses

__all__ = [
    'DEFAULT_SCALES',
    'ExportedNetwork',
    'OnnxBottomupEstimator',
    'TTA_MODES',
    'apply_test_time_options',
    'check_keypoint_count',
    'draw_poses',
    'export_onnx',
    'fit_test_input',
    'inference_bottomup',
    'init_model',
    'init_onnx_model',
    'sample_keypoint_tags',
]
