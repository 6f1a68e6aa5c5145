from mmengine.optim import AmpOptimWrapper

from aeplugin.registry import OPTIM_WRAPPERS

from .finite_loss_check import FiniteLossCheck


@OPTIM_WRAPPERS.register_module(
    name=['AmpOptimWrapper', 'FiniteLossAmpOptimWrapper']
)
class FiniteLossAmpOptimWrapper(FiniteLossCheck, AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` (``tools/train.py --amp``) that stops
    (or skips the batch) on a NaN or infinite loss term, see
    :class:`FiniteLossCheck`. The loss scaler's own skipping of steps with
    infinite *gradients* is unchanged.

    Args:
        nonfinite_loss (str): ``'stop'`` (default) or ``'skip'``
        *args, **kwargs: The arguments of ``AmpOptimWrapper``
    """
