"""Runner checkpoints: loading them safely, resuming from a complete one,
and refusing one whose weights do not fit the model.

Safe loading: torch >= 2.6 loads with ``weights_only=True`` by default and
mmengine 0.10.7 calls ``torch.load`` without the argument, so ``--resume``
and ``load_from`` fail with ``UnpicklingError`` on the runner's own
checkpoints: their message hub holds ``HistoryBuffer`` objects (numpy arrays
inside, and statistics methods pickled as ``getattr(HistoryBuffer,
'mean')``). Rather than switching the safe loader off, allow exactly those
types, and stand in for ``getattr`` with a version that only resolves
``HistoryBuffer``'s statistics methods: allowing the real ``getattr`` would
let a crafted file reach any attribute.
"""

import glob
import logging
import os.path as osp
import pickle
import re
import zipfile
from typing import Dict, List, Optional, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.model import is_model_wrapper
from torch import nn

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


# keys of each kind listed in a mismatch error
_SHOWN = 10


def checkpoint_mismatches(
    model: nn.Module, state_dict: Dict[str, torch.Tensor]
) -> Dict[str, List[str]]:
    """Keys of ``state_dict`` that do not fit ``model``.

    Args:
        model (nn.Module): The model (a wrapper's module is used)
        state_dict (dict): Weights as in a checkpoint's ``state_dict``; the
            ``module.`` prefix of wrapped models is ignored, as mmengine's
            loader does

    Returns:
        dict: ``missing`` (model keys absent from the checkpoint),
        ``unexpected`` (checkpoint keys the model lacks) and ``shape``
        (``'key: checkpoint (...) vs model (...)'``), each sorted
    """
    if is_model_wrapper(model):
        model = model.module
    expected = model.state_dict()
    given = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    shape = [
        f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(expected[k].shape)}'
        for k, v in sorted(given.items())
        if k in expected
        and hasattr(v, 'shape')
        and tuple(v.shape) != tuple(expected[k].shape)
    ]
    return dict(
        missing=sorted(set(expected) - set(given)),
        unexpected=sorted(set(given) - set(expected)),
        shape=shape,
    )


def check_checkpoint_matches(
    model: nn.Module,
    checkpoint: Union[str, dict],
    source: Optional[str] = None,
) -> None:
    """Raise ``ValueError`` listing the keys of ``checkpoint`` that do not
    fit ``model``.

    mmengine's ``load_checkpoint`` (``strict=False``, as ``load_from`` and
    ``tools/test.py`` use it) only logs a warning for missing, unexpected
    or shape-mismatched keys and goes on with the model's random weights in
    their place: an evaluation then reports the AP of a partly random model.

    Args:
        model (nn.Module): The model
        checkpoint (str | dict): A checkpoint path, a loaded checkpoint
            (with ``state_dict``) or a bare state dict
        source (str, optional): Where a loaded checkpoint came from, for
            the message. Defaults to the path, or ``'checkpoint'``
    """
    if isinstance(checkpoint, str):
        source = source or checkpoint
        checkpoint = torch.load(checkpoint, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint)
    found = checkpoint_mismatches(model, state_dict)
    if not any(found.values()):
        return
    lines = []
    for kind, what in (
        ('missing', 'model weights missing from the checkpoint'),
        ('unexpected', 'checkpoint weights the model does not have'),
        ('shape', 'weights of another shape'),
    ):
        keys = found[kind]
        if keys:
            more = len(keys) - _SHOWN
            lines.append(f'{len(keys)} {what}:')
            lines += [f'  {k}' for k in keys[:_SHOWN]]
            if more > 0:
                lines.append(f'  ... and {more} more')
    raise ValueError(
        f'{source or "checkpoint"} does not match the model '
        f'{type(model).__name__} (a checkpoint of another architecture or '
        'config?):\n' + '\n'.join(lines)
    )


# the step of a checkpoint file that CheckpointHook names
_STEP = re.compile(r'^(?:epoch|iter)_(\d+)\.pth$')


def checkpoint_problem(path: str) -> Optional[str]:
    """Why the checkpoint at ``path`` cannot be loaded, or ``None``.

    ``torch.save`` writes a zip archive whose directory comes last, so a file
    cut short by a kill has no readable directory: this finds truncation
    without unpickling (or reading) the whole file.

    Args:
        path (str): A checkpoint file

    Returns:
        str | None: The problem, or ``None`` for a complete archive
    """
    if not osp.isfile(path):
        return 'does not exist'
    if osp.getsize(path) == 0:
        return 'is empty'
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        return 'is truncated or not a torch.save archive'
    if not any(name.endswith('data.pkl') for name in names):
        return 'is a zip archive without data.pkl (not a torch checkpoint)'
    return None


def check_checkpoint_complete(path: str) -> None:
    """Raise ``ValueError`` naming ``path`` when it cannot be loaded (a
    local file; URLs are left to mmengine)."""
    if '://' in path:
        return
    problem = checkpoint_problem(path)
    if problem is not None:
        raise ValueError(f'checkpoint {path} {problem}')


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` should load from ``work_dir``.

    mmengine resumes from the file named in ``work_dir/last_checkpoint``
    without checking it. This returns that file when it is complete;
    otherwise (a run killed while writing it, before checkpoints were
    written atomically) the newest complete ``epoch_*.pth`` / ``iter_*.pth``
    in its directory, with a warning naming what was skipped.

    Args:
        work_dir (str): The run's work directory

    Returns:
        str | None: The checkpoint, or ``None`` when the run saved none yet
        (training then starts from scratch, as in mmengine)

    Raises:
        ValueError: ``last_checkpoint`` exists but no complete checkpoint
            does
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        last = f.read().strip()
    skipped = []
    if last:
        problem = checkpoint_problem(last)
        if problem is None:
            return last
        skipped.append(f'{last} {problem}')
    else:
        skipped.append(f'{pointer} is empty')
    folder = osp.dirname(last) if last else work_dir
    candidates = []
    for path in glob.glob(osp.join(glob.escape(folder), '*.pth')):
        match = _STEP.match(osp.basename(path))
        if match and path != last:
            candidates.append((int(match.group(1)), path))
    for _, path in sorted(candidates, reverse=True):
        problem = checkpoint_problem(path)
        if problem is None:
            print_log(
                f'Resuming from {path}: ' + '; '.join(skipped),
                logger='current',
                level=logging.WARNING,
            )
            return path
        skipped.append(f'{path} {problem}')
    raise ValueError(
        f'--resume found no complete checkpoint in {folder}: '
        + '; '.join(skipped)
    )
