"""Let ``torch.load(weights_only=True)`` read the checkpoints mmengine writes.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.7
calls ``torch.load`` without the argument, so ``--resume`` and ``load_from``
fail on the runner's own checkpoints (their message hub holds
``HistoryBuffer`` objects and numpy values). Rather than switching the safe
loader off, allow exactly the types a runner checkpoint contains.
"""
import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def runner_checkpoint_types() -> list:
    """The non-tensor types found in checkpoints written by mmengine's
    Runner (message hub buffers, numpy scalars and arrays in log values)."""
    numpy_types = [
        np.dtype,
        np.ndarray,
        np.core.multiarray._reconstruct
        if hasattr(np, 'core') else None,
        np.core.multiarray.scalar if hasattr(np, 'core') else None,
    ]
    numpy_types += [type(np.dtype(t)) for t in (
        'float64', 'float32', 'float16', 'int64', 'int32', 'int16', 'int8',
        'uint8', 'bool')]
    return [HistoryBuffer] + [t for t in numpy_types if t is not None]


def allow_runner_checkpoints() -> None:
    """Register :func:`runner_checkpoint_types` with torch's safe loader."""
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:
        add_safe_globals(runner_checkpoint_types())
