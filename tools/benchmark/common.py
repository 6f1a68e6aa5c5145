"""Shared helpers of the benchmarks in ``tools/benchmark``: timing, the
machine description, the command line and the JSON report."""

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Union

import numpy as np
import torch

DEFAULT_OUT_DIR = Path('work_dirs') / 'benchmark'
# The real people the decode and targets benchmarks are made of.
SHIPPED_ANN_FILE = (
    Path(__file__).resolve().parents[2]
    / 'data/coco-mini/annotations/person_keypoints_train2017.json'
)


def _cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else platform's."""
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine(device: Union[str, torch.device, None] = None) -> dict:
    """Describe what the timings were measured on.

    Args:
        device (str | torch.device, optional): The device the benchmark ran
            its tensors on; ``None`` means CPU

    Returns:
        dict: CPU model, logical cores (all and usable by this process),
        torch threads, the versions of Python, torch, numpy, mmpose, scipy
        and munkres, the device and, on CUDA, the GPU name
    """
    import mmpose

    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return 'not installed'

    device = torch.device(device or 'cpu')
    info = dict(
        cpu=_cpu_model(),
        cpu_cores=os.cpu_count(),
        usable_cores=(
            len(os.sched_getaffinity(0))
            if hasattr(os, 'sched_getaffinity')
            else os.cpu_count()
        ),
        torch_threads=torch.get_num_threads(),
        platform=platform.platform(),
        python=platform.python_version(),
        torch=torch.__version__,
        numpy=np.__version__,
        mmpose=mmpose.__version__,
        # mmpose's grouping runs the munkres package's assignment, ours
        # scipy's: their versions set the speed of both.
        scipy=version('scipy'),
        munkres=version('munkres'),
        device=str(device),
    )
    if device.type == 'cuda':
        info['gpu'] = torch.cuda.get_device_name(device)
    return info


def format_machine(info: dict) -> str:
    """One line describing the machine of :func:`describe_machine`."""
    line = (
        f'{info["cpu"]} ({info["cpu_cores"]} cores, {info["usable_cores"]} '
        f'usable), torch {info["torch"]} with {info["torch_threads"]} '
        f'thread(s), mmpose {info["mmpose"]}, device {info["device"]}'
    )
    if 'gpu' in info:
        line += f' ({info["gpu"]})'
    return line


def format_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A plain text table; floats are printed with 4 significant digits."""
    cells = [list(header)] + [
        [
            f'{cell:.4g}' if isinstance(cell, float) else str(cell)
            for cell in row
        ]
        for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return '\n'.join(
        '  '.join(
            cell.ljust(width) for cell, width in zip(row, widths)
        ).rstrip()
        for row in cells
    )


def synchronize(device: Union[str, torch.device, None]) -> None:
    """Wait for the device's queued work, so that a timer measures it."""
    device = torch.device(device or 'cpu')
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_call(
    function: Callable[[], object],
    repeat: int = 5,
    warmup: int = 1,
    device: Union[str, torch.device, None] = None,
) -> Dict[str, float]:
    """Time a call: ``warmup`` untimed calls, then ``repeat`` timed ones.

    The median is the figure to report: on a shared machine the mean is
    pulled up by the calls that another process slowed down.

    Args:
        function (Callable): The call to time, without arguments
        repeat (int): Number of timed calls. Defaults to 5
        warmup (int): Number of untimed calls before. Defaults to 1
        device (str | torch.device, optional): Device to synchronize before
            reading the clock; ``None`` means CPU

    Returns:
        dict: ``median_s``, ``min_s``, ``max_s`` and ``repeat``
    """
    if repeat < 1 or warmup < 0:
        raise ValueError(
            f'repeat must be >= 1 and warmup >= 0, got repeat={repeat}, '
            f'warmup={warmup}'
        )
    for _ in range(warmup):
        function()
    synchronize(device)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return dict(
        median_s=statistics.median(times),
        min_s=min(times),
        max_s=max(times),
        repeat=repeat,
    )


def time_interleaved(
    work: Dict[str, Sequence[Callable[[], object]]],
    repeat: int = 5,
    warmup: int = 1,
    device: Union[str, torch.device, None] = None,
) -> Dict[str, Dict[str, float]]:
    """Time several ways of doing the same work in alternating passes.

    Each way's work is a sequence of calls (one per batch, say). A round
    runs a pass of every way (all its calls back to back, as in an
    evaluation loop), the ways taking turns in first place from round to
    round, so that a change of load on a shared machine hits all ways
    alike. A way's time is the sum over its calls of their median over the
    ``repeat`` timed rounds.

    Args:
        work (dict): Per way (a name), its calls, without arguments; every
            way has the same number of calls
        repeat (int): Timed rounds. Defaults to 5
        warmup (int): Untimed rounds before. Defaults to 1
        device (str | torch.device, optional): Device to synchronize before
            reading the clock; ``None`` means CPU

    Returns:
        dict: Per way ``median_s`` (sum of the calls' medians), ``min_s``
        and ``max_s`` (sums of their extremes) and ``repeat``
    """
    if repeat < 1 or warmup < 0:
        raise ValueError(
            f'repeat must be >= 1 and warmup >= 0, got repeat={repeat}, '
            f'warmup={warmup}'
        )
    lengths = {len(calls) for calls in work.values()}
    if len(lengths) != 1:
        raise ValueError(
            'every way must have the same number of calls, got '
            + ', '.join(f'{name}: {len(c)}' for name, c in work.items())
        )
    names = list(work)
    times = {name: [[] for _ in calls] for name, calls in work.items()}
    for round_index in range(warmup + repeat):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            for index, call in enumerate(work[name]):
                synchronize(device)
                start = time.perf_counter()
                call()
                synchronize(device)
                if round_index >= warmup:
                    times[name][index].append(time.perf_counter() - start)
    return {
        name: dict(
            median_s=sum(statistics.median(t) for t in call_times),
            min_s=sum(min(t) for t in call_times),
            max_s=sum(max(t) for t in call_times),
            repeat=repeat,
        )
        for name, call_times in times.items()
    }


def speedup(ours: Dict[str, float], theirs: Dict[str, float]) -> float:
    """How many times faster ours is than theirs, by median time."""
    return theirs['median_s'] / ours['median_s']


def default_out(name: str) -> Path:
    """The default JSON path of benchmark ``name``."""
    return DEFAULT_OUT_DIR / f'{name}.json'


def write_json(result: dict, path: Optional[Union[str, Path]]) -> Path:
    """Write a benchmark result as indented JSON, creating the folder.

    Args:
        result (dict): JSON-serialisable result
        path (str | Path): Where to write

    Returns:
        Path: The path written
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + '\n')
    return path


def benchmark_parser(
    doc: str, name: str, warmup: int = 1, threads: Optional[int] = 1
) -> argparse.ArgumentParser:
    """The options every benchmark script takes: ``--warmup``,
    ``--threads`` (torch's threads; ``None`` keeps torch's default) and
    ``--out`` (default ``work_dirs/benchmark/<name>.json``).

    Args:
        doc (str): The script's docstring; its first line describes it
        name (str): The benchmark's name
        warmup (int): Default untimed runs before timing
        threads (int, optional): Default torch threads

    Returns:
        argparse.ArgumentParser: The parser, to add the script's options to
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--warmup', type=int, default=warmup)
    parser.add_argument(
        '--threads',
        type=int,
        default=threads,
        help='torch threads (default: '
        + ("torch's" if threads is None else str(threads))
        + ')',
    )
    parser.add_argument('--out', default=default_out(name))
    return parser


def set_threads(threads: Optional[int]) -> None:
    """Set torch's thread count, or keep its default for ``None``."""
    if threads is not None:
        torch.set_num_threads(threads)


def report(result: dict, out: Union[str, Path], *blocks: str) -> None:
    """Print a benchmark's machine, its result blocks and where its JSON
    was written (after writing it)."""
    print(format_machine(result['machine']))
    for block in blocks:
        print(block)
    print(f'written to {write_json(result, out)}')
