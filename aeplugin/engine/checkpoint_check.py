"""Refuse a checkpoint whose weights do not fit the model."""

import re
from typing import Dict, List, Optional, Union

import torch
from mmengine.model import is_model_wrapper
from torch import nn

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
