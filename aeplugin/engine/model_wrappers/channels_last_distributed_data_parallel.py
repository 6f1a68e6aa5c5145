import torch
from mmengine.model import MMDistributedDataParallel
from torch import nn

from aeplugin.registry import MODEL_WRAPPERS

CHANNELS_LAST_WHEN = ('cuda', 'always', 'never')


@MODEL_WRAPPERS.register_module()
class ChannelsLastDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's ``MMDistributedDataParallel`` around a model put in
    ``torch.channels_last`` memory format first.

    DistributedDataParallel lays its gradient buckets out when it is built,
    with the strides of the parameters at that time. A model made
    channels-last after that (as a hook's ``before_run`` would, the Runner
    having wrapped the model when it was built) gets channels-last
    gradients that no longer match their bucket views: torch warns "Grad
    strides do not match bucket view strides" and copies every such
    gradient into its bucket each step. Converting here, before DDP's
    ``__init__``, lays the buckets out for the channels-last parameters.
    Values and state-dict layout are unchanged, so checkpoints load either
    way. :class:`ChannelsLastHook` converts a model that is not wrapped.

    The default ``model_wrapper_cfg`` of the configs
    (``configs/_base_/default_runtime.py``); ``tools/train.py --fp32`` sets
    ``channels_last='never'``.

    Args:
        module (nn.Module): The model
        channels_last (str): ``'cuda'`` (default): convert a model on a
            GPU, where cuDNN runs convolutions in NHWC, and leave a model on
            the CPU as it is; ``'always'``: convert on any device (the tests
            check the bucket layout with CPU processes this way);
            ``'never'``
        **kwargs: The arguments of ``MMDistributedDataParallel``
    """

    def __init__(
        self, module: nn.Module, channels_last: str = 'cuda', **kwargs
    ):
        if channels_last not in CHANNELS_LAST_WHEN:
            raise ValueError(
                f'channels_last must be one of {CHANNELS_LAST_WHEN}, got '
                f'{channels_last!r}'
            )
        if channels_last == 'always' or (
            channels_last == 'cuda'
            and any(p.is_cuda for p in module.parameters())
        ):
            module.to(memory_format=torch.channels_last)
        super().__init__(module=module, **kwargs)
