"""Exported tiny models and unpadded real images for the ONNX tests."""

from pathlib import Path

import cv2
import numpy as np

from aeplugin.apis import export_onnx
from aeplugin.testing import randomize_weights_

from .tiny_model import IMAGES, random_tiny_model


def distinct_tiny_model(config):
    """The tiny model with O(1) random weights: its maps have distinct
    peaks and tags, so its people do not hinge on float ties."""
    return randomize_weights_(random_tiny_model(config))


def unpadded_images() -> list:
    """The real test images cropped to 3:2, the tiny config's input shape
    at every scale, so no input is padded: a random network's output over
    constant padding is flat, and the order of its equal peaks would turn
    on the last float bit."""
    images = []
    for path in IMAGES:
        image = cv2.imread(path)
        H, W = image.shape[:2]
        w = min(W, H * 3 // 2) // 3 * 3
        images.append(np.ascontiguousarray(image[: w // 3 * 2, :w]))
    return images


def export_tiny(model, folder: Path, **kwargs) -> Path:
    """Export ``model`` into ``folder`` and return the file."""
    name = 'tiny_{}_{}{}.onnx'.format(
        'flip' if kwargs.get('flip') else 'noflip',
        'x'.join(map(str, kwargs.get('input_size') or ['dynamic'])),
        '_dynamo' if kwargs.get('dynamo') else '',
    )
    return export_onnx(model, Path(folder) / name, **kwargs)
