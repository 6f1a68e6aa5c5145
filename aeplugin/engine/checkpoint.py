"""Let ``torch.load(weights_only=True)`` read the checkpoints mmengine writes.

torch >= 2.6 loads with ``weights_only=True`` by default and mmengine 0.10.7
calls ``torch.load`` without the argument, so ``--resume`` and ``load_from``
fail with ``UnpicklingError`` on the runner's own checkpoints: their message
hub holds ``HistoryBuffer`` objects (numpy arrays inside, and statistics
methods pickled as ``getattr(HistoryBuffer, 'mean')``). Rather than switching
the safe loader off, allow exactly those types, and stand in for ``getattr``
with a version that only resolves ``HistoryBuffer``'s statistics methods:
allowing the real ``getattr`` would let a crafted file reach any attribute.
"""

import pickle

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

try:
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy < 2
    from numpy.core import multiarray as _multiarray


# numpy scalars in log values pickle their dtype's class
_NUMPY_DTYPES = (
    'bool',
    'int8',
    'int16',
    'int32',
    'int64',
    'uint8',
    'uint16',
    'uint32',
    'uint64',
    'float16',
    'float32',
    'float64',
)


def history_buffer_getattr(owner, name):
    """``getattr`` restricted to the statistics methods of a
    ``HistoryBuffer``, the only use of ``getattr`` in runner checkpoints."""
    methods = {'min', 'max', 'current', 'mean'}
    methods.update(HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and name in methods:
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({owner!r}, {name!r}); only '
        'HistoryBuffer statistics methods are allowed'
    )


def runner_checkpoint_globals() -> list:
    """Globals (and the stand-in for ``getattr``) found in checkpoints
    written by mmengine's Runner, for ``torch.serialization``."""
    return [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        _multiarray._reconstruct,
        _multiarray.scalar,
        *(type(np.dtype(name)) for name in _NUMPY_DTYPES),
        (history_buffer_getattr, 'builtins.getattr'),
    ]


def allow_runner_checkpoints() -> None:
    """Register :func:`runner_checkpoint_globals` with torch's safe loader
    (a no-op on torch versions without one)."""
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:
        add_safe_globals(runner_checkpoint_globals())
