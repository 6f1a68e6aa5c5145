"""Training step and inference of the 4-stack hourglass: ours against
mmpose's HourglassAENet; speed and peak memory, each case in a fresh process.

    python tools/benchmark/model.py [--sizes 256] [--cp-sizes 512]
        [--batch-size 2] [--iters 2] [--cp-iters 1]
        [--modes train inference] [--threads N] [--out FILE]
"""

import torch

from aeplugin.benchmark.common import (
    benchmark_parser,
    format_table,
    report,
)
from aeplugin.benchmark.model import default_cases, run_model_benchmark


def parse_args():
    # threads are set in each case's fresh process
    parser = benchmark_parser(__doc__, 'model', threads=None)
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
    report(
        result,
        args.out,
        format_table(
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
        format_table(
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
