"""Distributed training on machines without CUDA (gloo), on mmengine's path.

mmengine 0.10.7 assumes CUDA in two places: ``init_dist`` calls
``torch.cuda.set_device`` (handled here), and ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to DistributedDataParallel, which rejects device
ids for CPU modules (handled by ``model_wrapper_cfg`` in
``configs/_base_/default_runtime.py``). Everything else (samplers, gathering,
rank-0 logging and checkpoints) is the same code path as on GPUs.
"""

import gc
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


def finish_distributed() -> None:
    """Close the process group after a finished run, on every rank.

    mmengine never destroys it; with gloo, a process that exits with the
    group alive can abort at interpreter shutdown ("terminate called without
    an active exception", SIGABRT) after its checkpoints are written, which
    torchrun reports as a failed job. The barrier keeps one rank from
    closing the group while another still talks to it.

    The Runner sits in reference cycles (hooks, the message hub), so after
    ``train()`` returns its DistributedDataParallel model, whose reducer
    holds the group, stays alive until the next garbage collection; when
    that is interpreter shutdown, the group dies there anyway and the abort
    comes back (seen on CI). Collecting first makes the destroy final.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        gc.collect()
        torch_dist.barrier()
        torch_dist.destroy_process_group()
