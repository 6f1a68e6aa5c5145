"""Distributed training on machines without CUDA (gloo), on mmengine's path.

mmengine 0.10.7 assumes CUDA in two places: ``init_dist`` calls
``torch.cuda.set_device`` (handled here), and ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to DistributedDataParallel, which rejects device
ids for CPU modules (handled by ``model_wrapper_cfg`` in
``configs/_base_/default_runtime.py``). Everything else (samplers, gathering,
rank-0 logging and checkpoints) is the same code path as on GPUs.
"""

import os

import torch
import torch.distributed as torch_dist


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
