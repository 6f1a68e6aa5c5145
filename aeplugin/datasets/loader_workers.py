"""The number of data-loading workers per GPU, chosen at run time."""

import copy
import os
from typing import Mapping, Optional

# More workers than a GPU consumes only compete for the cores with the
# training process and each other: on a 16-core GPU host the paper config's
# loader delivered fewer images/s with 15 workers than with 8.
MAX_WORKERS_PER_GPU = 8
AUTO = 'auto'


def processes_per_node(environ: Optional[Mapping[str, str]] = None) -> int:
    """The training processes (one per GPU) that share this node's cores.

    Args:
        environ (Mapping, optional): The environment; ``None`` reads
            ``os.environ``

    Returns:
        int: ``LOCAL_WORLD_SIZE`` (torchrun, ``tools/dist_train.sh``), else
        ``SLURM_NTASKS_PER_NODE`` (``tools/slurm_train.sh``), else 1
    """
    environ = os.environ if environ is None else environ
    for key in ('LOCAL_WORLD_SIZE', 'SLURM_NTASKS_PER_NODE'):
        value = environ.get(key)
        if value:
            try:
                processes = int(value)
            except ValueError:
                processes = 0
            if processes < 1:
                raise ValueError(
                    f'{key}={value!r} is not a number of processes (>= 1)'
                )
            return processes
    return 1


def auto_num_workers(
    cpu_count: Optional[int] = None,
    usable_cores: Optional[int] = None,
    processes: Optional[int] = None,
    max_workers: int = MAX_WORKERS_PER_GPU,
) -> int:
    """Workers per training process (per GPU):
    ``max(1, min(max_workers, cpu_count // processes, usable_cores))``.

    The node's cores are shared by its training processes; the cores this
    process may run on (a CPU binding, e.g. slurm's ``--cpus-per-task``)
    cap the count too.

    Args:
        cpu_count (int, optional): The node's logical cores; ``None``:
            ``os.cpu_count()``
        usable_cores (int, optional): The cores this process may run on;
            ``None``: its CPU affinity (``os.sched_getaffinity``), else
            ``cpu_count``
        processes (int, optional): Training processes on the node; ``None``:
            :func:`processes_per_node`
        max_workers (int): The most workers per process. Defaults to 8

    Returns:
        int: At least 1
    """
    if cpu_count is None:
        cpu_count = os.cpu_count() or 1
    if usable_cores is None:
        usable_cores = (
            len(os.sched_getaffinity(0))
            if hasattr(os, 'sched_getaffinity')
            else cpu_count
        )
    if processes is None:
        processes = processes_per_node()
    return max(1, min(max_workers, cpu_count // processes, usable_cores))


def resolve_num_workers(loader_cfg: Mapping) -> dict:
    """A data loader config with ``num_workers='auto'`` made a number.

    ``'auto'`` becomes :func:`auto_num_workers`; a number stays. Without
    workers (0), ``persistent_workers`` and ``prefetch_factor`` are left
    out: they mean nothing then and torch's ``DataLoader`` rejects them, so
    that ``num_workers=0`` alone overrides a config that sets them.

    Args:
        loader_cfg (Mapping): The keyword arguments of mmengine's
            ``Runner.build_dataloader``

    Returns:
        dict: A copy, with ``num_workers`` a number
    """
    resolved = copy.deepcopy(dict(loader_cfg))
    num_workers = resolved.get('num_workers', 0)
    if num_workers == AUTO:
        num_workers = resolved['num_workers'] = auto_num_workers()
    elif not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(
            f"num_workers must be 'auto' or a number >= 0, got {num_workers!r}"
        )
    if num_workers == 0:
        resolved.pop('persistent_workers', None)
        resolved.pop('prefetch_factor', None)
    return resolved
