"""Training data loader: ours against mmpose's data handling.

    python tools/benchmark/data_loader.py [CONFIG] [--workers 1 2 all]
        [--batches 20] [--batch-size 6] [--input-size N] [--repeat 20]
        [--rounds 3] [--device cpu|cuda] [--threads N] [--json OUT.json]

The config's training pipeline (default: the paper's, 512x512) on the
shipped ``data/coco-mini`` images, batched two ways:

- ``aeplugin``: the config as it is: ``PackBottomupPoseInputs`` (metainfo:
  the file only), :func:`bottomup_collate` (a few tensors) and
  ``BottomupDataPreprocessor``;
- ``mmpose``: mmpose's ``PackPoseInputs`` (its default metainfo, with the
  raw annotations) in place of the packing, mmengine's ``pseudo_collate``
  (one ``PoseDataSample`` per image) and mmpose's ``PoseDataPreprocessor``.

The augmentation and the targets are the same. Per pipeline:

- ``pickled_bytes``: the pickled size of a collated batch (what a worker
  hands to the main process) per image; ``objects_per_batch`` and
  ``tensors_per_batch``: the Python objects (containers and leaves) and
  the tensors in it, which the pin-memory thread and the preprocessor walk
  (each tensor also travels as its own shared-memory handle);
- host time per batch, medians over ``--repeat`` calls: ``collate_ms``
  (in the workers), and in the main process ``pin_ms`` (what the loader's
  ``pin_memory=True`` does; CUDA only, ``None`` on the CPU) and ``cast_ms``
  (the preprocessor's ``cast_data`` to the device, not waiting for the
  copies); ``main_ms_per_batch`` is ``pin_ms + cast_ms``;
- ``images_per_s`` with each ``--workers`` count (``all``: the cores this
  process may use): the config's loader (pinned on CUDA, persistent
  workers) over ``--batches`` batches after the first (the workers'
  start, reported as ``first_batch_s``), each cast to the device; the
  median of ``--rounds`` loaders, timed in alternating rounds of the two
  pipelines.

Printed as a markdown table with ours/mmpose ratios; ``--json`` writes the
rows as a list.
"""

import copy
import math
import os
import pickle
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import RepeatDataset, pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import BaseDataElement
from torch.utils.data._utils.pin_memory import pin_memory

from aeplugin.datasets.bottomup_collate import bottomup_collate
from aeplugin.datasets.loader_workers import resolve_num_workers
from aeplugin.registry import DATASETS, MODELS

if not __package__:  # run as a script: import tools.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.benchmark import common  # noqa: E402
from tools.benchmark.train_step import (  # noqa: E402
    PAPER_CONFIG,
    build_samples,
    load_config,
)

PIPELINES = ('aeplugin', 'mmpose')
ROW_KEYS = (
    'pipeline',
    'workers',
    'images_per_s',
    'pickled_bytes',
    'main_ms_per_batch',
    'collate_ms',
    'pin_ms',
    'cast_ms',
    'objects_per_batch',
    'tensors_per_batch',
    'first_batch_s',
    'batch_size',
)


def pipeline_config(cfg: Config, pipeline: str) -> Config:
    """The config of a pipeline: ``cfg`` itself for ``'aeplugin'``; for
    ``'mmpose'`` a copy with mmpose's ``PackPoseInputs``, ``pseudo_collate``
    and ``PoseDataPreprocessor`` (the same normalisation)."""
    if pipeline not in PIPELINES:
        raise ValueError(
            f'pipeline must be one of {PIPELINES}, got {pipeline!r}'
        )
    if pipeline == 'aeplugin':
        return cfg
    cfg = copy.deepcopy(cfg)
    loader = cfg.train_dataloader
    loader.dataset.pipeline[-1] = dict(type='mmpose.PackPoseInputs')
    loader.collate_fn = dict(type='pseudo_collate')
    preprocessor = cfg.model.data_preprocessor
    cfg.model.data_preprocessor = dict(
        type='mmpose.PoseDataPreprocessor',
        mean=preprocessor.mean,
        std=preprocessor.std,
        bgr_to_rgb=preprocessor.bgr_to_rgb,
    )
    return cfg


def collate_function(pipeline: str) -> Callable[[Sequence[dict]], dict]:
    """The collate function of a pipeline."""
    return bottomup_collate if pipeline == 'aeplugin' else pseudo_collate


def walk(value) -> Iterator:
    """Every object of a batch, depth first: containers (mappings,
    sequences, data elements with their metainfo and fields) and leaves."""
    yield value
    if isinstance(value, (str, bytes, torch.Tensor, np.ndarray)):
        return
    if isinstance(value, BaseDataElement):
        children = list(value.all_values())
    elif isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, (list, tuple)):
        children = value
    else:
        return
    for child in children:
        yield from walk(child)


def batch_structure(batch: dict, batch_size: int) -> Dict[str, int]:
    """``pickled_bytes`` (pickled size per image), ``objects_per_batch``
    and ``tensors_per_batch`` of a collated batch (see the module's doc)."""
    objects = list(walk(batch))
    pickled = len(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
    return dict(
        pickled_bytes=round(pickled / batch_size),
        objects_per_batch=len(objects),
        tensors_per_batch=sum(isinstance(o, torch.Tensor) for o in objects),
    )


def host_ms(
    function: Callable[[], object], repeat: int, warmup: int = 1
) -> float:
    """Median host time of a call in ms, after ``warmup`` untimed calls
    (the device's queued work is not waited for)."""
    return common.time_call(function, repeat, warmup)['median_s'] * 1e3


def main_process_costs(
    cfg: Config,
    pipeline: str,
    samples: Sequence[dict],
    device: Union[str, torch.device] = 'cpu',
    repeat: int = 20,
    warmup: int = 1,
) -> dict:
    """The per-batch measures of a pipeline on one batch of its packed
    ``samples``: each the median of ``repeat`` calls after ``warmup``.

    Returns:
        dict: ``pickled_bytes``, ``objects_per_batch``,
        ``tensors_per_batch``, ``collate_ms``, ``pin_ms`` (``None`` off
        CUDA), ``cast_ms`` and ``main_ms_per_batch``
    """
    device = torch.device(device)
    collate = collate_function(pipeline)
    init_default_scope(cfg.get('default_scope', 'aeplugin'))
    preprocessor = MODELS.build(
        copy.deepcopy(pipeline_config(cfg, pipeline).model.data_preprocessor)
    ).to(device)
    batch = collate(list(samples))
    costs = batch_structure(batch, len(samples))
    costs['collate_ms'] = host_ms(
        lambda: collate(list(samples)), repeat, warmup
    )
    costs['pin_ms'] = None
    if device.type == 'cuda':
        costs['pin_ms'] = host_ms(lambda: pin_memory(batch), repeat, warmup)
        batch = pin_memory(batch)
    costs['cast_ms'] = host_ms(
        lambda: preprocessor.cast_data(batch), repeat, warmup
    )
    common.synchronize(device)
    costs['main_ms_per_batch'] = (costs['pin_ms'] or 0.0) + costs['cast_ms']
    return costs


def loader_speed(
    cfg: Config,
    pipeline: str,
    num_workers: int,
    batch_size: int,
    num_batches: int,
    device: Union[str, torch.device] = 'cpu',
) -> dict:
    """images/s of a pipeline's training loader with ``num_workers``
    workers, each batch cast to the device by its preprocessor.

    The loader is the config's ``train_dataloader`` (pinned on CUDA only)
    over the images repeated so that no epoch ends; the first batch (the
    workers' start) is timed on its own, then ``num_batches`` more.

    Returns:
        dict: ``images_per_s`` and ``first_batch_s``
    """
    device = torch.device(device)
    pipeline_cfg = pipeline_config(cfg, pipeline)
    init_default_scope(cfg.get('default_scope', 'aeplugin'))
    preprocessor = MODELS.build(
        copy.deepcopy(pipeline_cfg.model.data_preprocessor)
    ).to(device)
    loader_cfg = pipeline_cfg.train_dataloader.to_dict()
    loader_cfg.update(
        num_workers=num_workers,
        batch_size=batch_size,
        pin_memory=device.type == 'cuda',
    )
    loader_cfg = resolve_num_workers(loader_cfg)
    dataset = DATASETS.build(loader_cfg['dataset'])
    loader_cfg['dataset'] = RepeatDataset(
        dataset, math.ceil((num_batches + 1) * batch_size / len(dataset))
    )
    start = time.perf_counter()
    batches = iter(Runner.build_dataloader(loader_cfg, seed=0))
    preprocessor.cast_data(next(batches))
    common.synchronize(device)
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(num_batches):
        preprocessor.cast_data(next(batches))
    common.synchronize(device)
    elapsed = time.perf_counter() - start
    del batches  # ends the workers
    return dict(
        images_per_s=num_batches * batch_size / elapsed, first_batch_s=first
    )


def all_workers() -> int:
    """The cores this process may run on (``--workers all``)."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def run_data_loader_benchmark(
    config=PAPER_CONFIG,
    workers: Sequence[int] = (1, 2),
    num_batches: int = 20,
    batch_size: int = 6,
    input_size: Optional[int] = None,
    repeat: int = 20,
    warmup: int = 1,
    rounds: int = 3,
    device: str = 'cpu',
    pipelines: Sequence[str] = PIPELINES,
) -> List[dict]:
    """Measure every pipeline: its per-batch costs once, its loader's
    images/s at each worker count.

    The loaders are timed in ``rounds`` alternating rounds (the pipelines
    taking turns in first place), each a fresh loader; a row reports the
    medians, so that a change of load on a shared machine hits both
    pipelines alike.

    Args:
        config: The config. Defaults to the paper's
        workers (Sequence[int]): Worker counts to time the loaders with
        num_batches (int): Timed batches per loader. Defaults to 20
        batch_size (int): Images per batch. Defaults to 6
        input_size (int, optional): Square input side; ``None`` keeps the
            config's
        repeat (int): Timed calls of each per-batch measure. Defaults to 20
        warmup (int): Untimed calls before. Defaults to 1
        rounds (int): Timed loaders per pipeline and worker count.
            Defaults to 3
        device (str): Device of the preprocessor. Defaults to ``'cpu'``
        pipelines (Sequence[str]): Of ``'aeplugin'`` and ``'mmpose'``

    Returns:
        list[dict]: One row per pipeline and worker count, with the keys of
        ``ROW_KEYS`` (see the module's doc) and ``machine``
    """
    if rounds < 1:
        raise ValueError(f'rounds must be >= 1, got {rounds}')
    cfg = load_config(config, input_size)
    machine = common.format_machine(common.describe_machine(device))
    costs = {}
    for pipeline in pipelines:
        samples = build_samples(pipeline_config(cfg, pipeline), batch_size)
        costs[pipeline] = main_process_costs(
            cfg, pipeline, samples, device, repeat, warmup
        )
    rows = []
    for num_workers in workers:
        speeds = {pipeline: [] for pipeline in pipelines}
        for round_index in range(rounds):
            shift = round_index % len(pipelines)
            for pipeline in pipelines[shift:] + pipelines[:shift]:
                speeds[pipeline].append(
                    loader_speed(
                        cfg,
                        pipeline,
                        num_workers,
                        batch_size,
                        num_batches,
                        device,
                    )
                )
        for pipeline in pipelines:
            rows.append(
                dict(
                    pipeline=pipeline,
                    workers=num_workers,
                    batch_size=batch_size,
                    rounds=rounds,
                    **{
                        key: statistics.median(
                            s[key] for s in speeds[pipeline]
                        )
                        for key in ('images_per_s', 'first_batch_s')
                    },
                    **costs[pipeline],
                    machine=machine,
                )
            )
    return rows


def _ratio(ours, theirs) -> str:
    if ours is None or theirs is None or not theirs:
        return ''
    return f'{ours / theirs:.3g}'


def format_markdown(rows: Sequence[dict]) -> str:
    """The rows as a markdown table, with ours/mmpose ratios of images/s,
    pickled bytes and main-process time at the same worker count."""
    theirs = {r['workers']: r for r in rows if r['pipeline'] == 'mmpose'}

    def cell(value) -> str:
        if value is None:
            return 'n/a'
        return f'{value:.4g}' if isinstance(value, float) else str(value)

    header = [
        'pipeline',
        'workers',
        'images/s',
        'ours/mmpose',
        'pickled B/image',
        'ours/mmpose',
        'objects/batch',
        'tensors/batch',
        'collate ms',
        'pin ms',
        'cast ms',
        'main ms/batch',
        'ours/mmpose',
    ]
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '|' + '---|' * len(header),
    ]
    for row in rows:
        other = {}
        if row['pipeline'] != 'mmpose':
            other = theirs.get(row['workers'], {})
        values = [
            row['pipeline'],
            row['workers'],
            cell(row['images_per_s']),
            _ratio(row['images_per_s'], other.get('images_per_s')),
            row['pickled_bytes'],
            _ratio(row['pickled_bytes'], other.get('pickled_bytes')),
            row['objects_per_batch'],
            row['tensors_per_batch'],
            cell(row['collate_ms']),
            cell(row['pin_ms']),
            cell(row['cast_ms']),
            cell(row['main_ms_per_batch']),
            _ratio(row['main_ms_per_batch'], other.get('main_ms_per_batch')),
        ]
        lines.append('| ' + ' | '.join(str(v) for v in values) + ' |')
    return '\n'.join(lines)


def parse_workers(values: Sequence[str]) -> List[int]:
    """Worker counts from the command line: numbers, or ``all``; each
    count once, in the order given."""
    counts = []
    for value in values:
        if value == 'all':
            count = all_workers()
        elif value.isdigit():
            count = int(value)
        else:
            raise ValueError(
                f"--workers takes numbers or 'all', got {value!r}"
            )
        if count not in counts:
            counts.append(count)
    return counts


def parse_args(argv=None) -> dict:
    """The command line as arguments of :func:`run_data_loader_benchmark`,
    ``out`` and ``threads``."""
    parser = common.benchmark_parser(__doc__, 'data_loader', threads=None)
    parser.add_argument('config', nargs='?', default=str(PAPER_CONFIG))
    parser.add_argument(
        '--json', dest='out', help='where to write the rows (same as --out)'
    )
    parser.add_argument(
        '--workers',
        nargs='+',
        default=['1', '2', 'all'],
        help="worker counts ('all': the usable cores; default: 1 2 all)",
    )
    parser.add_argument('--batches', dest='num_batches', type=int, default=20)
    parser.add_argument('--batch-size', type=int, default=6)
    parser.add_argument('--input-size', type=int, default=None)
    parser.add_argument(
        '--repeat', type=int, default=20, help='timed calls per measure'
    )
    parser.add_argument(
        '--rounds',
        type=int,
        default=3,
        help='timed loaders per pipeline and worker count (median)',
    )
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu'
    )
    args = vars(parser.parse_args(argv))
    args['workers'] = parse_workers(args['workers'])
    return args


def main(argv=None):
    args = parse_args(argv)
    out = args.pop('out')
    common.set_threads(args.pop('threads'))
    rows = run_data_loader_benchmark(**args)
    print(rows[0]['machine'])
    print(
        f'{Path(args["config"]).name}: batch {args["batch_size"]}, '
        f'{args["num_batches"]} timed batches per loader'
    )
    print(format_markdown(rows))
    print(f'written to {common.write_json(rows, out)}')


if __name__ == '__main__':
    main()
