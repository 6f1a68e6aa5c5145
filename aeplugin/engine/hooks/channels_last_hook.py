import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from aeplugin.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Put a model on a GPU in ``torch.channels_last`` memory format before
    the run, when it runs without DistributedDataParallel.

    cuDNN runs convolutions and batch norms in NHWC; a model in NCHW pays
    for layout conversions around each of them (16% of the GPU time of the
    paper network's training step in bfloat16). With the weights here and
    the inputs from :class:`BottomupDataPreprocessor` channels-last, the
    convolutions read and write NHWC directly. A model on the CPU is left
    as it is. The weights keep their values and their state-dict layout, so
    checkpoints load either way.

    A model the Runner wrapped in DistributedDataParallel is left to its
    wrapper, :class:`ChannelsLastDistributedDataParallel`, which converts
    it before DDP lays out its gradient buckets; converting here, after
    that, would leave the buckets in NCHW strides (a stride-mismatch
    warning and a copy of every gradient each step).

    The default of the configs (``configs/_base_/default_runtime.py``);
    ``tools/train.py --fp32`` turns it off.

    Args:
        enabled (bool): Whether to convert. Defaults to ``True``
    """

    priority = 'VERY_HIGH'

    def __init__(self, enabled: bool = True):
        self.enabled = enabled

    def before_run(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            return
        if self.enabled and any(p.is_cuda for p in model.parameters()):
            model.to(memory_format=torch.channels_last)
