"""Stop, or skip the batch, when a loss term is NaN or infinite."""

import logging
from contextlib import contextmanager
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub, print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from torch import nn

from aeplugin.registry import OPTIM_WRAPPERS

NONFINITE_MODES = ('stop', 'skip')
SKIPPED_KEY = 'nonfinite_loss_skipped'


def _is_finite(value) -> torch.Tensor:
    values = value if isinstance(value, (list, tuple)) else [value]
    return torch.stack(
        [torch.isfinite(torch.as_tensor(v)).all() for v in values]
    ).all()


class FiniteLossCheck:
    """Mixin for an mmengine ``OptimWrapper`` that keeps a NaN or infinite
    loss term from reaching the weights.

    The optimizer wrapper is the one mmengine component between the loss
    terms and the parameter update: ``optim_context(model)`` wraps the
    forward pass that returns the loss dict (a forward hook sees
    ``loss_kpt``, ``loss_pull``, ``loss_push`` before ``parse_losses`` sums
    them) and ``update_params`` decides whether the optimizer steps. A
    ``Hook`` sees the losses only after the step (the weights are already
    NaN), and a model cannot keep the optimizer from stepping.

    The check costs one read of one flag per step, after the backward pass
    is queued: a flag of "any term non-finite" is computed on the loss's
    device, backward is launched, and then the flag (all-reduced under
    distributed training, so that all ranks agree) is read before the
    optimizer step. On a GPU the host so queues the backward pass without
    waiting for the forward pass to finish; the read waits for the
    backward pass instead, which the step needs anyway.

    With ``nonfinite_loss='stop'`` a non-finite term raises
    ``FloatingPointError`` naming the iteration and the terms (found then,
    on the error path), before any gradient reaches the weights: the
    checkpoints on disk are all from before. With ``'skip'`` the batch is
    dropped on every rank (its gradients are zeroed and the optimizer does
    not step; with gradient accumulation the gradients gathered so far in
    the window are dropped too) and a warning gives the running count,
    which is kept in the message hub (``nonfinite_loss_skipped``) and so in
    checkpoints.
    """

    def __init__(self, *args, nonfinite_loss: str = 'stop', **kwargs):
        if nonfinite_loss not in NONFINITE_MODES:
            raise ValueError(
                f'nonfinite_loss must be one of {NONFINITE_MODES}, got '
                f'{nonfinite_loss!r}'
            )
        super().__init__(*args, **kwargs)
        self.nonfinite_loss = nonfinite_loss
        self._loss_terms: Optional[Dict[str, torch.Tensor]] = None

    @contextmanager
    def optim_context(self, model: nn.Module):
        handle = model.register_forward_hook(self._record_loss_terms)
        try:
            with super().optim_context(model):
                yield
        finally:
            handle.remove()

    def _record_loss_terms(self, module, args, output) -> None:
        if isinstance(output, dict):
            self._loss_terms = {k: v for k, v in output.items() if 'loss' in k}

    def _take_loss_terms(self, loss: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The model's loss terms of this iteration and their sum
        ``loss`` (only ``loss`` when the model's terms were not seen)."""
        terms = dict(self._loss_terms or {})
        self._loss_terms = None
        terms['loss'] = loss
        return terms

    def nonfinite_terms(self, terms: Dict[str, torch.Tensor]) -> List[str]:
        """Names of the NaN or infinite terms of ``terms`` on any rank (one
        all-reduce of a flag per term under distributed training)."""
        flags = torch.stack([~_is_finite(v) for v in terms.values()])
        flags = flags.to(torch.float32)
        if get_world_size() > 1:
            all_reduce(flags, op='max')
        return [name for name, bad in zip(terms, flags.tolist()) if bad]

    def update_params(
        self,
        loss: torch.Tensor,
        step_kwargs: Optional[Dict] = None,
        zero_kwargs: Optional[Dict] = None,
    ) -> None:
        """mmengine's ``update_params`` (scale, backward, and a step at the
        end of an accumulation window) with the non-finite check between
        backward and step."""
        terms = self._take_loss_terms(loss)
        # one flag for all terms, computed on the device without a read
        nonfinite = torch.stack([~_is_finite(v) for v in terms.values()])
        nonfinite = nonfinite.any().to(torch.float32).reshape(1)
        self.backward(self.scale_loss(loss))
        if get_world_size() > 1:
            all_reduce(nonfinite, op='max')
        if nonfinite.item():  # the one host read of the check
            self._nonfinite_loss(terms, zero_kwargs)
        elif self.should_update():
            self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))

    def _nonfinite_loss(
        self, terms: Dict[str, torch.Tensor], zero_kwargs: Optional[Dict]
    ) -> None:
        """Raise (``'stop'``), or drop the gradients and count the skipped
        batch (``'skip'``); every rank gets here in the same iteration."""
        bad = self.nonfinite_terms(terms)
        # 'loss' is the sum: name the model's own terms when they are bad
        named = [t for t in bad if t != 'loss'] or bad
        hub = MessageHub.get_current_instance()
        iteration = hub.get_info('iter', 0) + 1
        values = ', '.join(f'{t}={_describe(terms[t])}' for t in named)
        where = (
            f'training iteration {iteration} (epoch '
            f'{hub.get_info("epoch", 0) + 1})'
        )
        if get_world_size() > 1:
            values += ' on at least one rank'
        self.zero_grad(**(zero_kwargs or {}))
        if self.nonfinite_loss == 'stop':
            raise FloatingPointError(
                f'non-finite loss at {where}: {values}. The weights were '
                'not updated with it, so '
                'the last checkpoint is intact: check the data and the '
                'learning rate, then --resume; or set '
                "optim_wrapper.nonfinite_loss='skip' to skip such batches"
            )
        skipped = hub.get_info(SKIPPED_KEY, 0) + 1
        hub.update_info(SKIPPED_KEY, skipped)
        print_log(
            f'skipped the batch of {where}: non-finite {values} '
            f'({skipped} batches skipped so far)',
            logger='current',
            level=logging.WARNING,
        )


def _describe(value) -> str:
    values = value if isinstance(value, (list, tuple)) else [value]
    flat = torch.cat([torch.as_tensor(v).detach().flatten() for v in values])
    bad = flat[~torch.isfinite(flat)]
    return str(bad[0].item()) if bad.numel() else 'finite'


@OPTIM_WRAPPERS.register_module(
    name=['OptimWrapper', 'FiniteLossOptimWrapper']
)
class FiniteLossOptimWrapper(FiniteLossCheck, OptimWrapper):
    """mmengine's ``OptimWrapper`` that stops (or skips the batch) on a NaN
    or infinite loss term, see :class:`FiniteLossCheck`.

    Registered as ``OptimWrapper`` in the ``aeplugin`` scope, so every
    config (whose ``optim_wrapper`` defaults to that type) gets the check;
    ``type='mmengine.OptimWrapper'`` turns it off.

    Args:
        nonfinite_loss (str): ``'stop'`` (default) or ``'skip'``
        *args, **kwargs: The arguments of ``OptimWrapper``
    """


@OPTIM_WRAPPERS.register_module(
    name=['AmpOptimWrapper', 'FiniteLossAmpOptimWrapper']
)
class FiniteLossAmpOptimWrapper(FiniteLossCheck, AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` (``tools/train.py --amp``) that stops
    (or skips the batch) on a NaN or infinite loss term, see
    :class:`FiniteLossCheck`. The loss scaler's own skipping of steps with
    infinite *gradients* is unchanged.

    Registered as ``AmpOptimWrapper`` in the ``aeplugin`` scope, so every
    mixed-precision config gets the check;
    ``type='mmengine.AmpOptimWrapper'`` turns it off.

    Args:
        nonfinite_loss (str): ``'stop'`` (default) or ``'skip'``
        *args, **kwargs: The arguments of ``AmpOptimWrapper``
    """
