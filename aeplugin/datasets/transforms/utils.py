"""Checks shared by the transforms that work on encoded AE targets."""

from typing import Dict

import numpy as np


def encoded_heatmaps(
    results: Dict, transform: str, key: str = 'heatmaps'
) -> np.ndarray:
    """The (K, H, W) heatmaps ``GenerateTarget`` put in ``results[key]``, or
    a ValueError naming the transform that needs them and what it found."""
    heatmaps = results.get(key)
    if not isinstance(heatmaps, np.ndarray) or heatmaps.ndim != 3:
        got = (
            tuple(heatmaps.shape)
            if isinstance(heatmaps, np.ndarray)
            else type(heatmaps).__name__
        )
        raise ValueError(
            f'{transform} needs `{key}` (K, H, W) from GenerateTarget '
            f'earlier in the pipeline, got {got}'
        )
    return heatmaps
