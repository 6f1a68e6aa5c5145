"""Pick a checkpoint that ``--resume`` can actually read."""

import glob
import logging
import os.path as osp
import re
import zipfile
from typing import Optional

from mmengine.logging import print_log

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
