from mmengine.optim import OptimWrapper

from aeplugin.registry import OPTIM_WRAPPERS

from .finite_loss_check import FiniteLossCheck


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
