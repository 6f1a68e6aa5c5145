"""Training step of a config: ours against the mmpose-equivalent path.

    python tools/benchmark/train_step.py [--config CONFIG] [--device cuda]
        [--batch-size 32] [--input-size 512] [--iters N] [--warmup N]
        [--stacks 4] [--compile] [--loader] [--no-interleave]
        [--cfg-options K=V ...] [--threads N] [--out FILE]

The config's full ``model.train_step(data, optim_wrapper)`` (data
preprocessor, network, head and loss, backward, optimizer step), and its
backbone alone (forward + backward of the mean of every stack's output), on
batches built once from its training pipeline on the shipped
``data/coco-mini`` images (the data root overridden) and held in memory:
the data loader is not timed here (``--loader`` times it on its own).

- ``ours``: the config as it is: :func:`bottomup_collate` batches (pinned
  on CUDA, as by the loader's ``pin_memory=True``), its
  ``BottomupDataPreprocessor`` and ``BF16OptimWrapper`` (bfloat16 autocast
  on CUDA, float32 on the CPU), a channels-last model on CUDA (what
  ``ChannelsLastHook`` does) and, with ``--compile``, a compiled backbone
  (what ``CompileBackboneHook`` does);
- ``mmpose``: the mmpose-equivalent path, float32 and NCHW everywhere (as
  ``tools/train.py --fp32``) with mmpose's data handling: mmengine's
  ``pseudo_collate`` batches (unpinned, as mmpose's configs load them),
  mmpose's ``PoseDataPreprocessor`` with the same mean, std and channel
  order, and mmengine's plain ``OptimWrapper`` (no non-finite loss check).
  The network, head and loss are the same, from the same weights.

Per case: images/s, the host-to-device copies and host synchronisations of
one step (``aeplugin.testing.count_transfers_and_syncs``; the collate runs
in the loader's workers and is not counted) and the peak memory (CUDA:
``torch.cuda.max_memory_allocated``; CPU: the peak resident set size of
the case's process, also less its size before the first step). Every case
runs in a fresh process, so that its peak memory is its own; the timing
runs all cases in one more process, in alternating rounds, so that a
change of load on a shared machine hits both paths alike
(``--no-interleave``: each case timed in its own process).
"""

import copy
import itertools
import logging
import math
import resource
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import RepeatDataset, pseudo_collate
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed
from torch.utils.data._utils.pin_memory import pin_memory

from aeplugin.datasets.bottomup_collate import bottomup_collate
from aeplugin.datasets.loader_workers import resolve_num_workers
from aeplugin.registry import DATASETS, HOOKS, MODELS
from aeplugin.testing import TransferCounts, count_transfers_and_syncs

if not __package__:  # run as a script: import tools.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.benchmark import common  # noqa: E402
from tools.benchmark.model import (  # noqa: E402
    _in_fresh_process,
    _resident_bytes,
)

REPO = Path(__file__).resolve().parents[2]
PAPER_CONFIG = REPO / 'configs/ae_hourglass-4stack_8xb6-300e_coco-512x512.py'
DATA_ROOT = REPO / 'data/coco-mini'
PATHS = ('ours', 'mmpose')
PARTS = ('step', 'backbone')
PATH_NAMES = dict(ours='ours', mmpose='mmpose-equivalent')


def _resized_codec(codec: dict, size: int) -> dict:
    """``codec`` at a ``size`` x ``size`` input, its heatmap at the same
    stride as before."""
    width, height = codec['input_size']
    heatmap_width, heatmap_height = codec['heatmap_size']
    return dict(
        codec,
        input_size=(size, size),
        heatmap_size=(
            size * heatmap_width // width,
            size * heatmap_height // height,
        ),
    )


def load_config(
    config=PAPER_CONFIG,
    input_size: Optional[int] = None,
    num_stacks: Optional[int] = None,
    cfg_options: Optional[dict] = None,
    data_root=DATA_ROOT,
) -> Config:
    """The config, training on ``data_root`` (a COCO-style folder), at a
    square ``input_size`` and with ``num_stacks`` stacks when given, then
    ``cfg_options`` merged (as ``tools/train.py --cfg-options``).

    A config's sizes are resolved when it loads (see
    ``configs/_base_/datasets/coco_bottomup.py``), so a new input size is
    set in every training step that has one (``BottomupRandomAffine``),
    in the codec of ``GenerateTarget`` and in the head's decoder, the
    heatmaps keeping their stride.
    """
    cfg = Config.fromfile(str(config))
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = f'{data_root}/'
    dataset.ann_file = 'annotations/person_keypoints_train2017.json'
    dataset.data_prefix = dict(img='train2017/')
    if input_size is not None:
        for step in dataset.pipeline:
            if 'input_size' in step:
                step.input_size = (input_size, input_size)
            if step.get('type') == 'GenerateTarget':
                step.encoder = _resized_codec(step.encoder, input_size)
        decoder = cfg.model.head.get('decoder')
        if decoder is not None:
            cfg.model.head.decoder = _resized_codec(decoder, input_size)
    if num_stacks is not None:
        cfg.model.backbone.num_stacks = num_stacks
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def config_input_size(config=PAPER_CONFIG) -> int:
    """The width of the config's training input (512 for the paper's)."""
    for step in Config.fromfile(str(config)).train_dataloader.dataset.pipeline:
        if step.get('type') == 'GenerateTarget':
            return step.encoder['input_size'][0]
    raise ValueError(f'{config}: no GenerateTarget in the training pipeline')


def build_samples(cfg: Config, count: int, seed: int = 0) -> List[dict]:
    """``count`` packed training samples of the config's training dataset
    (its images repeated as needed), augmented from ``seed``."""
    init_default_scope(cfg.get('default_scope', 'aeplugin'))
    dataset = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
    set_random_seed(seed)
    return [dataset[i % len(dataset)] for i in range(count)]


def build_path(
    cfg: Config, path: str, device: str, compile: Union[bool, str] = False
) -> tuple:
    """The model (the same initial weights on every path) and the
    optimizer wrapper of a path, on ``device``; ``compile``: compile ours'
    backbone with inductor (``True``) or with the backend named.

    Returns:
        tuple: ``model``, ``optim_wrapper`` and ``collate`` (the path's
        collate function)
    """
    if path not in PATHS:
        raise ValueError(f'path must be one of {PATHS}, got {path!r}')
    if compile and path != 'ours':
        raise ValueError('only ours is compiled')
    init_default_scope(cfg.get('default_scope', 'aeplugin'))
    torch.backends.cudnn.benchmark = bool(
        cfg.get('env_cfg', {}).get('cudnn_benchmark', False)
    )
    model_cfg = copy.deepcopy(cfg.model)
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if path == 'mmpose':
        preprocessor = model_cfg.data_preprocessor
        model_cfg.data_preprocessor = dict(
            type='mmpose.PoseDataPreprocessor',
            mean=preprocessor.mean,
            std=preprocessor.std,
            bgr_to_rgb=preprocessor.bgr_to_rgb,
        )
        optim_cfg.type = 'mmengine.OptimWrapper'
        optim_cfg.pop('nonfinite_loss', None)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    # init_weights logs every parameter to the current logger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    model.to(device)
    if path == 'ours':
        # what the Runner's hooks do before the run
        hooks = [cfg.default_hooks.get('channels_last')]
        if compile:
            hooks.append(
                dict(type='CompileBackboneHook')
                if compile is True
                else dict(type='CompileBackboneHook', backend=compile)
            )
        runner = SimpleNamespace(model=model)
        for hook in hooks:
            if hook is not None:
                HOOKS.build(copy.deepcopy(hook)).before_run(runner)
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    collate = bottomup_collate if path == 'ours' else pseudo_collate
    return model, optim_wrapper, collate


def _peak_memory(device: torch.device, baseline: int) -> Dict[str, float]:
    if device.type == 'cuda':
        return dict(
            peak_memory_mb=torch.cuda.max_memory_allocated(device) / 2**20
        )
    # ru_maxrss is in KiB on Linux and may lag the current size
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        _resident_bytes(),
    )
    return dict(
        peak_memory_mb=peak / 2**20,
        peak_above_start_mb=(peak - baseline) / 2**20,
    )


def _count_step(step, optim_wrapper, device: torch.device) -> tuple:
    """Count the copies and syncs of one call of ``step``, and apart those
    of the optimizer wrapper's ``step`` (the parameter update) in it.

    On the CPU the counter counts every value read back; torch's Adam
    reads its step counters (host tensors) so, once per parameter, which
    on a GPU are no waits (and are not counted there).

    Returns:
        tuple: The ``TransferCounts`` of the whole call and of the update
    """
    optimizer = TransferCounts()

    def counted_update(**kwargs):
        with count_transfers_and_syncs(device) as counts:
            update(**kwargs)
        optimizer.host_to_device += counts.host_to_device
        optimizer.syncs += counts.syncs
        optimizer.sync_ops.update(counts.sync_ops)

    update = optim_wrapper.step
    optim_wrapper.step = counted_update
    try:
        with count_transfers_and_syncs(device) as counts:
            step()
        common.synchronize(device)
    finally:
        del optim_wrapper.step  # the class's again
    return counts, optimizer


def path_calls(
    cfg: Config,
    path: str,
    sample_batches: Sequence[Sequence[dict]],
    device: torch.device,
    compile: Union[bool, str] = False,
) -> tuple:
    """The timed calls of a path, one per part.

    Args:
        cfg (Config): From :func:`load_config`
        path (str): ``'ours'`` or ``'mmpose'`` (the mmpose-equivalent path)
        sample_batches (Sequence[Sequence[dict]]): Packed samples of each
            batch (:func:`build_samples`), collated here by the path
        device (torch.device): Device
        compile (bool | str): Compile ours' backbone (a str: with that
            backend). Defaults to False

    Returns:
        tuple: The calls by part: ``'step'`` (``model.train_step`` on the
        batches in turn) and ``'backbone'`` (the backbone's forward, under
        the optimizer wrapper's autocast, and backward of the mean of every
        stack's output, on the first batch's preprocessed inputs); and the
        optimizer wrapper
    """
    model, optim_wrapper, collate = build_path(cfg, path, device, compile)
    batches = [collate(list(samples)) for samples in sample_batches]
    if device.type == 'cuda' and path == 'ours':
        batches = [pin_memory(batch) for batch in batches]  # as the loader
    model.train()
    next_batch = itertools.cycle(batches).__next__

    def step():
        model.train_step(next_batch(), optim_wrapper)

    with torch.no_grad():
        inputs = model.data_preprocessor(batches[0], True)['inputs']

    def backbone():
        with optim_wrapper.optim_context(model):
            outputs = model.backbone(inputs)
        sum(output.float().mean() for output in outputs).backward()
        optim_wrapper.zero_grad()  # as a step leaves them

    return dict(step=step, backbone=backbone), optim_wrapper


@dataclass
class CaseSettings:
    """What the cases of a run share (passed to their fresh processes).

    Attributes:
        config, input_size, num_stacks, cfg_options: As :func:`load_config`
        device (str): Device
        iters (int): Timed steps; 0 in :func:`run_case` times none (its
            warm-up steps still run, at least one)
        warmup (int): Untimed steps before
        threads (int, optional): torch threads; ``None`` keeps torch's
    """

    config: str = str(PAPER_CONFIG)
    input_size: Optional[int] = None
    num_stacks: Optional[int] = None
    cfg_options: Optional[dict] = None
    device: str = 'cpu'
    iters: int = 3
    warmup: int = 1
    threads: Optional[int] = None

    def start(self) -> Tuple[Config, torch.device]:
        """Set torch's threads; the config and the device."""
        common.set_threads(self.threads)
        cfg = load_config(
            self.config, self.input_size, self.num_stacks, self.cfg_options
        )
        return cfg, torch.device(self.device)


def run_case(
    path: str,
    part: str,
    sample_batches: Sequence[Sequence[dict]],
    settings: CaseSettings,
    compile: bool = False,
) -> dict:
    """Measure one path's training step or backbone; meant to run in a
    fresh process.

    Args:
        path (str): ``'ours'`` or ``'mmpose'`` (the mmpose-equivalent path)
        part (str): ``'step'`` or ``'backbone'`` (see :func:`path_calls`)
        sample_batches (Sequence[Sequence[dict]]): Packed samples of each
            batch (:func:`build_samples`)
        settings (CaseSettings): The run's settings
        compile (bool): Compile ours' backbone. Defaults to False

    Returns:
        dict: ``path``, ``part``, ``batch_size``, ``compile``,
        ``host_to_device`` and ``syncs`` of one more step
        (:func:`count_transfers_and_syncs`), of which ``optimizer_syncs``
        in the parameter update (see :func:`_count_step`), ``sync_ops``
        (``syncs`` by op), ``peak_memory_mb``, on the CPU
        ``peak_above_start_mb`` and, when timed, ``images_per_s`` and
        ``step_time`` (median etc. in s)
    """
    if part not in PARTS:
        raise ValueError(f'part must be one of {PARTS}, got {part!r}')
    cfg, device = settings.start()
    calls, optim_wrapper = path_calls(
        cfg, path, sample_batches, device, compile
    )
    step = calls[part]
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    baseline = _resident_bytes()
    if settings.iters:
        timing = common.time_call(
            step, settings.iters, settings.warmup, device
        )
    else:
        for _ in range(max(settings.warmup, 1)):
            step()
        common.synchronize(device)
    memory = _peak_memory(device, baseline)
    counts, optimizer = _count_step(step, optim_wrapper, device)
    batch_size = len(sample_batches[0])
    result = dict(
        path=path,
        part=part,
        batch_size=batch_size,
        compile=compile,
        host_to_device=counts.host_to_device,
        syncs=counts.syncs,
        optimizer_syncs=optimizer.syncs,
        sync_ops=dict(counts.sync_ops),
        **memory,
    )
    if settings.iters:
        result.update(_speed(timing, batch_size))
    return result


def _speed(timing: Dict[str, float], batch_size: int) -> dict:
    return dict(images_per_s=batch_size / timing['median_s'], step_time=timing)


def time_interleaved_cases(
    paths: Sequence[str],
    parts: Sequence[str],
    sample_batches: Sequence[Sequence[dict]],
    settings: CaseSettings,
    compile: bool = False,
) -> Dict[str, dict]:
    """Time every path's parts in one process, in alternating rounds
    (``common.time_interleaved``), so that a change of load on a shared
    machine hits both paths alike; the arguments are as :func:`run_case`'s
    (``compile`` compiles ours only).

    Returns:
        dict: Per case (``'<path> <part>'``), ``images_per_s`` and
        ``step_time``
    """
    cfg, device = settings.start()
    work = {}
    for path in paths:
        calls, _ = path_calls(
            cfg, path, sample_batches, device, compile and path == 'ours'
        )
        for part in parts:
            work[f'{path} {part}'] = [calls[part]]
    times = common.time_interleaved(
        work, settings.iters, settings.warmup, device
    )
    batch_size = len(sample_batches[0])
    return {name: _speed(timing, batch_size) for name, timing in times.items()}


def time_loader(
    cfg: Config,
    batch_size: int = 2,
    num_batches: int = 10,
    device: str = 'cpu',
) -> dict:
    """images/s of the config's training data loader (its workers, collate
    and, on CUDA, pinning); ``cfg`` from :func:`load_config`.

    The loader is built by ``Runner.build_dataloader`` from the config's
    ``train_dataloader`` at ``batch_size``, over the images repeated so
    that no epoch ends; the first batch (the workers' start) is timed on
    its own, then ``num_batches`` more.

    Returns:
        dict: ``num_workers``, ``batch_size``, ``num_batches``,
        ``first_batch_s`` and ``images_per_s``
    """
    init_default_scope(cfg.get('default_scope', 'aeplugin'))
    loader_cfg = resolve_num_workers(cfg.train_dataloader.to_dict())
    dataset = DATASETS.build(loader_cfg['dataset'])
    loader_cfg['dataset'] = RepeatDataset(
        dataset, math.ceil((num_batches + 1) * batch_size / len(dataset))
    )
    loader_cfg['batch_size'] = batch_size
    loader_cfg['pin_memory'] = bool(
        loader_cfg.get('pin_memory') and torch.device(device).type == 'cuda'
    )
    start = time.perf_counter()
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    batches = iter(loader)
    next(batches)
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(num_batches):
        next(batches)
    elapsed = time.perf_counter() - start
    del batches, loader  # ends the workers
    return dict(
        num_workers=loader_cfg.get('num_workers', 0),
        batch_size=batch_size,
        num_batches=num_batches,
        pin_memory=loader_cfg['pin_memory'],
        first_batch_s=first,
        images_per_s=num_batches * batch_size / elapsed,
    )


def _ratios(results: List[dict]) -> List[dict]:
    """ours / mmpose-equivalent images/s per part: ``speed`` by the median
    step, ``speed_fastest`` by the fastest (less moved by other jobs on a
    shared machine)."""
    by_case = {(r['path'], r['part']): r for r in results}
    ratios = []
    for part in PARTS:
        if ('ours', part) in by_case and ('mmpose', part) in by_case:
            ours, theirs = by_case['ours', part], by_case['mmpose', part]
            ratios.append(
                dict(
                    part=part,
                    speed=common.speedup(
                        ours['step_time'], theirs['step_time']
                    ),
                    speed_fastest=theirs['step_time']['min_s']
                    / ours['step_time']['min_s'],
                )
            )
    return ratios


def run_train_step_benchmark(
    config=PAPER_CONFIG,
    device: str = 'cpu',
    batch_size: Optional[int] = None,
    input_size: Optional[int] = None,
    iters: int = 3,
    warmup: int = 1,
    num_stacks: Optional[int] = None,
    cfg_options: Optional[dict] = None,
    compile: bool = False,
    threads: Optional[int] = None,
    num_batches: int = 2,
    paths: Sequence[str] = PATHS,
    parts: Sequence[str] = PARTS,
    loader_batches: int = 0,
    fresh_process: bool = True,
    interleave: bool = True,
) -> dict:
    """Build the batches once, then run every case (path x part).

    Args:
        config: The config. Defaults to the paper's
        device (str): Device. Defaults to ``'cpu'``
        batch_size (int, optional): Images per step; ``None``: 32 on CUDA,
            2 on the CPU
        input_size (int, optional): Square input side; ``None``: the
            config's on CUDA, 256 on the CPU
        iters (int): Timed steps per case. Defaults to 3
        warmup (int): Untimed steps per case. Defaults to 1
        num_stacks (int, optional): Stacks; ``None`` keeps the config's
        cfg_options (dict, optional): Config settings to merge, as
            ``tools/train.py --cfg-options``
        compile (bool): Compile ours' backbone. Defaults to False
        threads (int, optional): torch threads; ``None`` keeps torch's
        num_batches (int): Distinct batches, used in turn. Defaults to 2
        paths (Sequence[str]): Of ``'ours'`` and ``'mmpose'``
        parts (Sequence[str]): Of ``'step'`` and ``'backbone'``
        loader_batches (int): Batches to time the config's data loader
            over (:func:`time_loader`); 0 skips it. Defaults to 0
        fresh_process (bool): Measure each case in a fresh process (its
            own peak memory), and time them in another. Defaults to True
        interleave (bool): Time all cases in one process in alternating
            rounds (:func:`time_interleaved_cases`: a change of load hits
            both paths alike), the memory and the counts in each case's
            process after ``warmup`` steps (at least one); else time each
            case in its own process. Defaults to True

    Returns:
        dict: ``settings``, ``results`` (:func:`run_case`, one per case),
        ``ratios`` (ours / mmpose-equivalent images/s per part), ``loader``
        (:func:`time_loader` or ``None``) and ``machine``
    """
    cuda = torch.device(device).type == 'cuda'
    if batch_size is None:
        batch_size = 32 if cuda else 2
    if input_size is None:
        input_size = config_input_size(config) if cuda else 256
    common.set_threads(threads)
    cfg = load_config(config, input_size, num_stacks, cfg_options)
    samples = build_samples(cfg, batch_size * num_batches)
    sample_batches = [
        samples[i : i + batch_size] for i in range(0, len(samples), batch_size)
    ]
    case_settings = CaseSettings(
        str(config),
        input_size,
        num_stacks,
        cfg_options,
        str(device),
        iters,
        warmup,
        threads,
    )

    def run(function, **kwargs):
        if fresh_process:
            return _in_fresh_process(function, **kwargs)
        return function(**kwargs)

    results = [
        run(
            run_case,
            path=path,
            part=part,
            sample_batches=sample_batches,
            settings=(
                replace(case_settings, iters=0)
                if interleave
                else case_settings
            ),
            compile=compile and path == 'ours',
        )
        for path, part in itertools.product(paths, parts)
    ]
    if interleave:
        speeds = run(
            time_interleaved_cases,
            paths=paths,
            parts=parts,
            sample_batches=sample_batches,
            settings=case_settings,
            compile=compile,
        )
        for case in results:
            case.update(speeds[f'{case["path"]} {case["part"]}'])
    settings = dict(
        asdict(case_settings),
        batch_size=batch_size,
        num_stacks=cfg.model.backbone.get('num_stacks'),
        num_batches=num_batches,
        compile=compile,
        fresh_process=fresh_process,
        interleave=interleave,
    )
    loader = loader_batches and time_loader(
        cfg, batch_size, loader_batches, device
    )
    return dict(
        benchmark='train_step',
        settings=settings,
        results=results,
        ratios=_ratios(results),
        loader=loader or None,
        machine=common.describe_machine(device),
    )


# The integer options: flag, argument of run_train_step_benchmark, default
# and help.
INT_OPTIONS = (
    ('--batch-size', 'batch_size', None, 'default: 32 on CUDA, 2 on the CPU'),
    (
        '--input-size',
        'input_size',
        None,
        "square input side (default: the config's on CUDA, 256 on the CPU)",
    ),
    ('--iters', 'iters', None, 'timed steps (default: 20 CUDA, 3 CPU)'),
    ('--stacks', 'num_stacks', None, "hourglass stacks (default: config's)"),
    ('--batches', 'num_batches', 2, 'distinct batches, used in turn'),
    ('--loader-batches', 'loader_batches', 10, 'batches --loader times'),
)


def parse_args(argv=None) -> dict:
    """The command line as arguments of :func:`run_train_step_benchmark`,
    and ``out``."""
    parser = common.benchmark_parser(
        __doc__, 'train_step', warmup=None, threads=None
    )
    parser.add_argument('--config', default=str(PAPER_CONFIG))
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu'
    )
    for flag, dest, default, text in INT_OPTIONS:
        parser.add_argument(
            flag, dest=dest, type=int, default=default, help=text
        )
    for flag, text in (
        ('--compile', "compile ours' backbone (CompileBackboneHook)"),
        ('--loader', "also time the config's training data loader"),
    ):
        parser.add_argument(flag, action='store_true', help=text)
    parser.add_argument(
        '--no-interleave',
        dest='interleave',
        action='store_false',
        help='time each case in its own process (default: all in one '
        'process, in alternating rounds)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs',
    )
    args = vars(parser.parse_args(argv))
    cuda = torch.device(args['device']).type == 'cuda'
    if args['iters'] is None:
        args['iters'] = 20 if cuda else 3
    if args['warmup'] is None:
        # compiling takes the first steps
        args['warmup'] = (10 if args['compile'] else 5) if cuda else 1
    if not args.pop('loader'):
        args['loader_batches'] = 0
    return args


def format_results(result: dict) -> List[str]:
    """The result's tables: the cases, and the loader when timed."""
    ratios = {
        ratio['part']: f'{ratio["speed"]:.3f} ({ratio["speed_fastest"]:.3f})'
        for ratio in result['ratios']
    }
    cpu = result['settings']['device'].startswith('cpu')
    blocks = [
        common.format_table(
            ['part', 'path', 'images/s', 'ours/mmpose-eq (fastest)']
            + ['H2D copies']
            + ['host syncs', 'in update', 'peak MB']
            + (['peak above start MB'] if cpu else []),
            [
                [
                    case['part'],
                    PATH_NAMES[case['path']]
                    + (' compiled' if case['compile'] else ''),
                    case['images_per_s'],
                    ratios.get(case['part'], 'n/a')
                    if case['path'] == 'ours'
                    else '',
                    case['host_to_device'],
                    case['syncs'],
                    case['optimizer_syncs'],
                    case['peak_memory_mb'],
                ]
                + ([case['peak_above_start_mb']] if cpu else [])
                for case in result['results']
            ],
        )
    ]
    loader = result['loader']
    if loader is not None:
        blocks.append(
            f'data loader: {loader["images_per_s"]:.4g} images/s with '
            f'{loader["num_workers"]} workers, batch {loader["batch_size"]}'
            f' (first batch {loader["first_batch_s"]:.3g} s)'
        )
    return blocks


def main(argv=None):
    args = parse_args(argv)
    out = args.pop('out')
    result = run_train_step_benchmark(**args)
    settings = result['settings']
    # HRNet configs have no stacks
    stacks = settings['num_stacks']
    header = (
        f'{Path(settings["config"]).name}: '
        + (f'{stacks} stacks, ' if stacks is not None else '')
        + f'input {settings["input_size"]}, batch {settings["batch_size"]}, '
        f'{settings["iters"]} timed steps after {settings["warmup"]}'
    )
    common.report(result, out, header, *format_results(result))


if __name__ == '__main__':
    main()
