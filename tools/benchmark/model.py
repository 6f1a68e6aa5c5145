"""Training step and inference of the 4-stack hourglass: ours against
mmpose's HourglassAENet; speed and peak memory, each case in a fresh process.

    python tools/benchmark/model.py [--sizes 256] [--cp-sizes 512]
        [--batch-size 2] [--iters 2] [--cp-iters 1]
        [--modes train inference] [--threads N] [--out FILE]

Our ``HourglassAE`` against mmpose's ``HourglassAENet`` of the same size
(the paper's 4 stacks, 256 features, +128 per level, 17 keypoints with 1-D
tags), for a training step (forward + backward) and for inference, with
their speed and peak memory.

Every case runs in a fresh process, so that its peak memory is its own.
On CUDA it is ``torch.cuda.max_memory_allocated``. On CPU (torch's
allocations bypass ``tracemalloc``) it is measured twice: the peak
resident set size (``getrusage``'s ``ru_maxrss``), also less the resident
size before the first step, and the peak of the C heap's live bytes above
their count before the first step, read after every aten op of that step
(glibc's ``mallinfo2``). The resident size also keeps what malloc caches
after a free, so only the second tells the memory a step needs at once
(what gradient checkpointing saves).
"""

import ctypes
import functools
import multiprocessing
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from aeplugin.testing import randomize_weights_

if not __package__:  # run as a script: import tools.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.benchmark import common  # noqa: E402

# The paper's network; mmpose's HourglassAENet spells the per-level channels
# out as stage_channels.
NUM_STACKS = 4
FEAT_CHANNELS = 256
INCREASE = 128
DEPTH = 4
OUT_CHANNELS = 34


def build_model(
    name: str, with_cp: bool = False, num_stacks: int = NUM_STACKS
) -> nn.Module:
    """Build ``'ours'`` (``HourglassAE``) or ``'mmpose'``
    (``HourglassAENet``) at the paper's size."""
    if name == 'ours':
        from aeplugin.models.backbones import HourglassAE

        return HourglassAE(
            num_stacks=num_stacks,
            feat_channels=FEAT_CHANNELS,
            increase=INCREASE,
            depth=DEPTH,
            out_channels=OUT_CHANNELS,
            with_cp=with_cp,
        )
    if name == 'mmpose':
        from mmpose.models.backbones import HourglassAENet

        if with_cp:
            raise ValueError("mmpose's HourglassAENet has no with_cp")
        return HourglassAENet(
            downsample_times=DEPTH,
            num_stacks=num_stacks,
            stage_channels=[FEAT_CHANNELS + i * INCREASE for i in range(5)],
            feat_channels=FEAT_CHANNELS,
            out_channels=OUT_CHANNELS,
        )
    raise ValueError(f"model must be 'ours' or 'mmpose', got {name!r}")


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            'arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks',
            'fsmblks', 'uordblks', 'fordblks', 'keepcost',
        )
    ]  # fmt: skip


@functools.cache
def _mallinfo2():
    """glibc's ``mallinfo2`` (glibc >= 2.33), or ``None`` elsewhere."""
    try:
        function = ctypes.CDLL('libc.so.6').mallinfo2
    except (OSError, AttributeError):
        return None
    function.restype = _MallInfo2
    return function


def _live_heap_bytes() -> Optional[int]:
    """Bytes the C heap holds allocated now (malloc's own count: blocks in
    use plus mmapped ones), which torch's CPU tensors are part of; ``None``
    without glibc."""
    mallinfo2 = _mallinfo2()
    if mallinfo2 is None:
        return None
    info = mallinfo2()
    return info.uordblks + info.hblkhd


class _HeapPeak(TorchDispatchMode):
    """Record the largest :func:`_live_heap_bytes` after any aten op run
    under this mode, backward included.

    The resident set size keeps what malloc frees without returning it to
    the system, so its peak also counts memory an earlier step freed; the
    heap's live bytes do not.
    """

    def __init__(self) -> None:
        super().__init__()
        self.peak = _live_heap_bytes()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        output = func(*args, **(kwargs or {}))
        self.peak = max(self.peak, _live_heap_bytes())
        return output


def _resident_bytes() -> int:
    """The current resident set size of this process (Linux)."""
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def run_case(
    model: str,
    mode: str,
    size: int,
    batch_size: int = 2,
    iters: int = 2,
    warmup: int = 1,
    with_cp: bool = False,
    fuse: bool = False,
    channels_last: bool = False,
    threads: Optional[int] = None,
    device: str = 'cpu',
    num_stacks: int = NUM_STACKS,
) -> dict:
    """Time one model in one mode; meant to run in a fresh process.

    Args:
        model (str): ``'ours'`` or ``'mmpose'``
        mode (str): ``'train'`` (train mode, forward + backward of the mean
            of every stack's output) or ``'inference'`` (eval mode, forward
            under ``torch.inference_mode``)
        size (int): Input side
        batch_size (int): Images per step. Defaults to 2
        iters (int): Timed steps. Defaults to 2
        warmup (int): Untimed steps before. Defaults to 1
        with_cp (bool): Ours with gradient checkpointing. Defaults to False
        fuse (bool): Fold the batch norms (inference). Defaults to False
        channels_last (bool): Model and input in channels-last memory
            format. Defaults to False
        threads (int, optional): torch threads; ``None`` keeps torch's
        device (str): Device. Defaults to ``'cpu'``
        num_stacks (int): Stacks. Defaults to 4

    Returns:
        dict: The case, ``images_per_s``, ``step_time`` (median etc. in s),
        ``peak_memory_mb`` and, on CPU, ``baseline_rss_mb`` (before the
        first step), ``peak_above_baseline_mb`` and, with glibc,
        ``peak_live_above_start_mb`` (the first step's heap peak)
    """
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    network = randomize_weights_(build_model(model, with_cp, num_stacks)).to(
        device
    )
    images = torch.rand(batch_size, 3, size, size, device=device)
    memory_format = (
        torch.channels_last if channels_last else torch.contiguous_format
    )
    network = network.to(memory_format=memory_format)
    images = images.contiguous(memory_format=memory_format)
    if mode == 'train':
        network.train()

        def step():
            for param in network.parameters():
                param.grad = None
            outputs = network(images)
            sum(output.mean() for output in outputs).backward()

    elif mode == 'inference':
        network.eval()
        if fuse:
            from aeplugin.models.utils import fuse_conv_bn

            fuse_conv_bn(network)

        def step():
            with torch.inference_mode():
                network(images)

    else:
        raise ValueError(f"mode must be 'train' or 'inference', got {mode!r}")

    cuda = torch.device(device).type == 'cuda'
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    baseline = _resident_bytes()
    heap_start = _live_heap_bytes()
    heap_peak = None
    if not cuda and heap_start is not None:
        # The first (untimed) step, with the heap tracked op by op.
        with _HeapPeak() as tracker:
            step()
        heap_peak = tracker.peak
        warmup = max(warmup - 1, 0)
    for _ in range(warmup):
        step()
    common.synchronize(device)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        common.synchronize(device)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    result = dict(
        model=model,
        mode=mode,
        size=size,
        batch_size=batch_size,
        with_cp=with_cp,
        fuse=fuse,
        channels_last=channels_last,
        images_per_s=batch_size / median,
        step_time=dict(
            median_s=median, min_s=min(times), max_s=max(times), repeat=iters
        ),
        threads=torch.get_num_threads(),
    )
    if cuda:
        result['peak_memory_mb'] = (
            torch.cuda.max_memory_allocated(device) / 2**20
        )
    else:
        # ru_maxrss is in KiB on Linux and may lag the current size.
        peak = max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            _resident_bytes(),
        )
        result['peak_memory_mb'] = peak / 2**20
        result['baseline_rss_mb'] = baseline / 2**20
        result['peak_above_baseline_mb'] = (peak - baseline) / 2**20
        if heap_peak is not None:
            result['peak_live_above_start_mb'] = (
                heap_peak - heap_start
            ) / 2**20
    return result


def check_outputs(
    size: int,
    threads: Optional[int] = None,
    device: str = 'cpu',
    num_stacks: int = NUM_STACKS,
) -> dict:
    """Compare, in eval mode on one image, every stack's output of mmpose's
    network with ours carrying its converted weights, and ours with its
    batch norms folded (and also channels-last) with ours as it is.

    Returns:
        dict: ``size``, the largest absolute differences
        ``ours_vs_mmpose``, ``fused_vs_unfused`` and
        ``fused_channels_last_vs_unfused``, ``output_std`` (the standard
        deviation of the last output: the random weights make outputs of
        about 100 to 1000 at the paper's size) and ``relative``: the
        differences divided by it
    """
    from aeplugin.models.utils import fuse_conv_bn
    from tools.model_converters.convert_mmpose_hourglass import (
        convert_mmpose_hourglass_ae_state_dict,
    )

    if threads:
        torch.set_num_threads(threads)
    # mmpose's BaseBackbone.train() returns None: no chained eval() here.
    theirs = randomize_weights_(build_model('mmpose', num_stacks=num_stacks))
    theirs.eval()
    state = convert_mmpose_hourglass_ae_state_dict(
        {f'backbone.{k}': v for k, v in theirs.state_dict().items()}
    )
    ours = build_model('ours', num_stacks=num_stacks)
    ours.eval()
    ours.load_state_dict(
        {k[len('backbone.') :]: v for k, v in state.items()}, strict=True
    )
    theirs, ours = theirs.to(device), ours.to(device)
    images = torch.rand(
        1, 3, size, size, generator=torch.Generator().manual_seed(1)
    ).to(device)

    def largest_difference(outputs, references):
        return max(
            float((output - reference).abs().max())
            for output, reference in zip(outputs, references)
        )

    with torch.inference_mode():
        expected = theirs(images)
        plain = ours(images)
        fuse_conv_bn(ours)
        fused = ours(images)
        ours = ours.to(memory_format=torch.channels_last)
        fused_channels_last = ours(
            images.contiguous(memory_format=torch.channels_last)
        )
    differences = dict(
        ours_vs_mmpose=largest_difference(plain, expected),
        fused_vs_unfused=largest_difference(fused, plain),
        fused_channels_last_vs_unfused=largest_difference(
            fused_channels_last, plain
        ),
    )
    scale = float(plain[-1].std())
    return dict(
        size=size,
        **differences,
        output_std=scale,
        relative={name: value / scale for name, value in differences.items()},
    )


def _in_fresh_process(function, **kwargs):
    """Run ``function(**kwargs)`` in a new (spawned) Python process."""
    context = multiprocessing.get_context('spawn')
    with context.Pool(1) as pool:
        return pool.apply(function, kwds=kwargs)


def default_cases(
    sizes: Sequence[int] = (256,),
    cp_sizes: Sequence[int] = (512,),
    cp_iters: int = 1,
) -> List[Dict]:
    """The cases of the benchmark (``run_case`` arguments).

    At each of ``sizes``: both models training and in inference, ours also
    with checkpointing and with folded norms (also channels-last). At each
    of ``cp_sizes`` not in ``sizes``: ours training with and without
    checkpointing, ``cp_iters`` timed steps each; checkpointing trades
    activation memory, and the activations outweigh the gradients of the
    weights only at large inputs.
    """
    cases = []
    for size in sizes:
        cases += [
            dict(size=size, model='mmpose', mode='train'),
            dict(size=size, model='ours', mode='train'),
            dict(size=size, model='ours', mode='train', with_cp=True),
            dict(size=size, model='mmpose', mode='inference'),
            dict(size=size, model='ours', mode='inference'),
            dict(size=size, model='ours', mode='inference', fuse=True),
            dict(
                size=size,
                model='ours',
                mode='inference',
                fuse=True,
                channels_last=True,
            ),
        ]
    for size in cp_sizes:
        if size not in sizes:
            cases += [
                dict(size=size, model='ours', mode='train', iters=cp_iters),
                dict(
                    size=size,
                    model='ours',
                    mode='train',
                    with_cp=True,
                    iters=cp_iters,
                ),
            ]
    return cases


def _ratios(results: List[dict]) -> List[dict]:
    """Ours against mmpose (and checkpointed against not), per size."""

    def find(size, model, mode, **flags):
        for result in results:
            if (
                result['size'] == size
                and result['model'] == model
                and result['mode'] == mode
                and all(result[key] == value for key, value in flags.items())
            ):
                return result
        return None

    memory_key = next(
        key
        for key in (
            'peak_live_above_start_mb',
            'peak_above_baseline_mb',
            'peak_memory_mb',
        )
        if all(key in result for result in results)
    )
    plain = dict(fuse=False, channels_last=False)
    fused = dict(fuse=True, channels_last=False)
    fused_cl = dict(fuse=True, channels_last=True)
    ratios = []
    for size in sorted({result['size'] for result in results}):
        pairs = dict(
            train_ours_vs_mmpose=(
                find(size, 'ours', 'train', with_cp=False),
                find(size, 'mmpose', 'train'),
            ),
            train_cp_vs_ours=(
                find(size, 'ours', 'train', with_cp=True),
                find(size, 'ours', 'train', with_cp=False),
            ),
            inference_ours_vs_mmpose=(
                find(size, 'ours', 'inference', **plain),
                find(size, 'mmpose', 'inference'),
            ),
            inference_fused_vs_mmpose=(
                find(size, 'ours', 'inference', **fused),
                find(size, 'mmpose', 'inference'),
            ),
            inference_fused_channels_last_vs_mmpose=(
                find(size, 'ours', 'inference', **fused_cl),
                find(size, 'mmpose', 'inference'),
            ),
        )
        for name, (case, reference) in pairs.items():
            if case is None or reference is None:
                continue
            ratios.append(
                dict(
                    size=size,
                    comparison=name,
                    speed=case['images_per_s'] / reference['images_per_s'],
                    time=reference['images_per_s'] / case['images_per_s'],
                    memory=case[memory_key] / reference[memory_key],
                    memory_measure=memory_key,
                    total_memory=case['peak_memory_mb']
                    / reference['peak_memory_mb'],
                )
            )
    return ratios


def run_model_benchmark(
    cases: Optional[List[Dict]] = None,
    batch_size: int = 2,
    iters: int = 2,
    warmup: int = 1,
    threads: Optional[int] = None,
    device: str = 'cpu',
    num_stacks: int = NUM_STACKS,
    check_size: Optional[int] = 256,
) -> dict:
    """Run every case, each in a fresh process, and check the outputs.

    Args:
        cases (List[dict], optional): ``run_case`` arguments, ``size``
            included; a case's own ``iters`` overrides the common one.
            ``None`` means :func:`default_cases`
        batch_size (int): Images per step. Defaults to 2
        iters (int): Timed steps per case. Defaults to 2
        warmup (int): Untimed steps per case. Defaults to 1
        threads (int, optional): torch threads; ``None`` keeps torch's
        device (str): Device. Defaults to ``'cpu'``
        num_stacks (int): Stacks (4 in the paper). Defaults to 4
        check_size (int, optional): Input side of :func:`check_outputs`;
            ``None`` skips the check. Defaults to 256

    Returns:
        dict: ``settings``, ``results`` (one per case), ``ratios`` (ours
        against mmpose, with_cp against not, per size: ``speed`` (images/s
        ratio), ``time`` and ``memory`` ratios), ``outputs``
        (:func:`check_outputs`) and ``machine``
    """
    case_args = dict(
        batch_size=batch_size,
        iters=iters,
        warmup=warmup,
        threads=threads,
        device=device,
        num_stacks=num_stacks,
    )
    results = [
        _in_fresh_process(run_case, **dict(case_args, **case))
        for case in (default_cases() if cases is None else cases)
    ]
    outputs = (
        _in_fresh_process(
            check_outputs,
            size=check_size,
            threads=threads,
            device=device,
            num_stacks=num_stacks,
        )
        if check_size
        else None
    )
    if threads:
        torch.set_num_threads(threads)
    return dict(
        benchmark='model',
        settings=dict(
            feat_channels=FEAT_CHANNELS,
            increase=INCREASE,
            depth=DEPTH,
            out_channels=OUT_CHANNELS,
            **case_args,
        ),
        results=results,
        ratios=_ratios(results),
        outputs=outputs,
        machine=common.describe_machine(device),
    )


def parse_args():
    # threads are set in each case's fresh process
    parser = common.benchmark_parser(__doc__, 'model', threads=None)
    parser.add_argument(
        '--sizes',
        type=int,
        nargs='+',
        default=[256],
        help='input sides of the comparison with mmpose (512 takes tens '
        'of seconds a step on 2 cores)',
    )
    parser.add_argument(
        '--cp-sizes',
        type=int,
        nargs='*',
        default=[512],
        help='more input sides where only ours trains, with and without '
        'gradient checkpointing (whose memory saving shows at large '
        'inputs)',
    )
    parser.add_argument('--cp-iters', type=int, default=1)
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--iters', type=int, default=2)
    parser.add_argument(
        '--modes',
        nargs='+',
        choices=['train', 'inference'],
        default=['train', 'inference'],
    )
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu'
    )
    parser.add_argument(
        '--stacks', type=int, default=4, help='hourglass stacks (paper: 4)'
    )
    return parser.parse_args()


def main():
    args = parse_args()
    cases = default_cases(
        args.sizes,
        args.cp_sizes if 'train' in args.modes else [],
        args.cp_iters,
    )
    result = run_model_benchmark(
        cases=[case for case in cases if case['mode'] in args.modes],
        batch_size=args.batch_size,
        iters=args.iters,
        warmup=args.warmup,
        threads=args.threads,
        device=args.device,
        num_stacks=args.stacks,
        check_size=args.sizes[0],
    )
    cpu = 'baseline_rss_mb' in result['results'][0]
    outputs = result['outputs']
    relative = outputs['relative']
    common.report(
        result,
        args.out,
        common.format_table(
            ['size', 'model', 'mode', 'images/s', 'peak RSS MB']
            + (['RSS above start MB', 'live above start MB'] if cpu else []),
            [
                [
                    case['size'],
                    case['model']
                    + (' with_cp' if case['with_cp'] else '')
                    + (' fused' if case['fuse'] else '')
                    + (' channels_last' if case['channels_last'] else ''),
                    case['mode'],
                    case['images_per_s'],
                    case['peak_memory_mb'],
                ]
                + (
                    [
                        case['peak_above_baseline_mb'],
                        case.get('peak_live_above_start_mb', 'n/a'),
                    ]
                    if cpu
                    else []
                )
                for case in result['results']
            ],
        ),
        common.format_table(
            [
                'size',
                'comparison',
                'speed ratio',
                'time ratio',
                'memory ratio',
                'total memory ratio',
            ],
            [
                [
                    ratio['size'],
                    ratio['comparison'],
                    ratio['speed'],
                    ratio['time'],
                    ratio['memory'],
                    ratio['total_memory'],
                ]
                for ratio in result['ratios']
            ],
        ),
        f'outputs at {outputs["size"]}, largest difference / output std '
        f'({outputs["output_std"]:.1f}): ours vs mmpose '
        f'{relative["ours_vs_mmpose"]:.1e}, fused vs unfused '
        f'{relative["fused_vs_unfused"]:.1e}, fused channels_last vs '
        f'unfused {relative["fused_channels_last_vs_unfused"]:.1e}',
    )


if __name__ == '__main__':
    main()
