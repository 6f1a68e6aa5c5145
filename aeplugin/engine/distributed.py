"""Distributed training on machines without CUDA (gloo), on mmengine's path.

mmengine 0.10.7 assumes CUDA in two places: ``init_dist`` calls
``torch.cuda.set_device`` and ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to DistributedDataParallel, which rejects device
ids for CPU modules. Everything else (samplers, gathering, rank-0 logging and
checkpoints) is the same code path as on GPUs.
"""

import os

import torch
import torch.distributed as torch_dist
from mmengine.model import MMDistributedDataParallel

from aeplugin.registry import MODEL_WRAPPERS


def init_cpu_distributed(launcher: str) -> bool:
    """Start a gloo process group for ``launcher='pytorch'`` when CUDA is
    unavailable, so that the Runner skips its CUDA-only ``init_dist``.

    Args:
        launcher (str): The job launcher (``'none'``, ``'pytorch'``, ...)

    Returns:
        bool: whether a process group was started here
    """
    if (
        launcher != 'pytorch'
        or torch.cuda.is_available()
        or torch_dist.is_initialized()
    ):
        return False
    missing = [
        k
        for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
        if k not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f'--launcher pytorch needs {", ".join(missing)} in the '
            'environment: start the job with tools/dist_train.sh (torchrun)'
        )
    torch_dist.init_process_group(backend='gloo')
    return True


@MODEL_WRAPPERS.register_module()
class DeviceAwareDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also wraps CPU modules.

    Identical on GPUs; for a module on the CPU it drops the ``device_ids``
    the Runner always passes, as DistributedDataParallel requires.
    """

    def __init__(self, module, device_ids=None, **kwargs):
        if next(module.parameters()).device.type == 'cpu':
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)
