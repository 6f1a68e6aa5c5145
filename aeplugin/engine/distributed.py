"""Distributed training on machines without CUDA (gloo), on mmengine's path.

mmengine 0.10.7 assumes CUDA in two places: ``init_dist`` calls
``torch.cuda.set_device`` for the ``pytorch`` and ``slurm`` launchers
(handled here), and ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to DistributedDataParallel, which rejects device
ids for CPU modules (handled by ``model_wrapper_cfg`` in
``configs/_base_/default_runtime.py``). Everything else (samplers, gathering,
rank-0 logging and checkpoints) is the same code path as on GPUs.
"""

import datetime
import gc
import os
import subprocess
from typing import Optional

import torch
import torch.distributed as torch_dist

# when dist_cfg sets none: NCCL's default (gloo's is 30 minutes), so that a
# hung rank stops a job after the same time on CPUs as on GPUs
DEFAULT_TIMEOUT = 600
_NEEDED = {
    'pytorch': (
        ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'),
        'tools/dist_train.sh (torchrun)',
    ),
    'slurm': (
        ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
        'tools/slurm_train.sh (srun)',
    ),
}


def _slurm_environment(port: Optional[int] = None) -> None:
    """Set the variables of torch's ``env://`` start from Slurm's, as
    mmengine's ``_init_dist_slurm`` does: the rank and world size from
    ``SLURM_PROCID`` and ``SLURM_NTASKS``, ``LOCAL_RANK`` from
    ``SLURM_LOCALID``, the master port from ``port``, else
    ``MASTER_PORT``, else 29500, and the master address from
    ``MASTER_ADDR``, else the first host of ``SLURM_NODELIST``."""
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {nodes} | head -n1'
        )
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def init_cpu_distributed(
    launcher: str, dist_cfg: Optional[dict] = None
) -> bool:
    """Start a gloo process group for ``launcher='pytorch'`` or ``'slurm'``
    when CUDA is unavailable, so that the Runner skips its CUDA-only
    ``init_dist``.

    Args:
        launcher (str): The job launcher (``'none'``, ``'pytorch'``,
            ``'slurm'``, ...)
        dist_cfg (dict, optional): The config's ``env_cfg.dist_cfg``, as
            mmengine's ``init_dist`` takes it: ``timeout`` (seconds) bounds
            every collective (default ``DEFAULT_TIMEOUT``, 10 minutes, as
            NCCL's; gloo's own is 30), ``port`` is the Slurm master port;
            ``backend`` is ignored (gloo).

    Returns:
        bool: whether a process group was started here
    """
    if (
        launcher not in _NEEDED
        or torch.cuda.is_available()
        or torch_dist.is_initialized()
    ):
        return False
    needed, script = _NEEDED[launcher]
    missing = [k for k in needed if k not in os.environ]
    if missing:
        raise RuntimeError(
            f'--launcher {launcher} needs {", ".join(missing)} in the '
            f'environment: start the job with {script}'
        )
    dist_cfg = dist_cfg or {}
    if launcher == 'slurm':
        _slurm_environment(dist_cfg.get('port'))
    timeout = dist_cfg.get('timeout')
    torch_dist.init_process_group(
        backend='gloo',
        timeout=datetime.timedelta(
            seconds=DEFAULT_TIMEOUT if timeout is None else timeout
        ),
    )
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
