"""Training target generation (codec encode): ours against mmpose's.

python tools/benchmark/targets.py [--people 1 10 30] [--repeat 20]
    [--threads 1] [--out FILE]
"""

from aeplugin.benchmark.common import (
    SHIPPED_ANN_FILE,
    benchmark_parser,
    format_table,
    report,
    set_threads,
)
from aeplugin.benchmark.targets import run_targets_benchmark


def parse_args():
    parser = benchmark_parser(__doc__, 'targets', warmup=2)
    parser.add_argument(
        '--ann-file',
        default=SHIPPED_ANN_FILE,
        help='COCO person keypoint annotations the crowds are made of',
    )
    parser.add_argument('--people', type=int, nargs='+', default=[1, 10, 30])
    parser.add_argument('--repeat', type=int, default=20)
    return parser.parse_args()


def main():
    args = parse_args()
    set_threads(args.threads)
    result = run_targets_benchmark(
        args.ann_file, args.people, args.repeat, args.warmup
    )
    report(
        result,
        args.out,
        format_table(
            ['people', 'ours ms', 'mmpose ms', 'speedup', 'equal targets'],
            [
                [
                    case['people'],
                    case['ours_ms'],
                    case['mmpose_ms'],
                    case['speedup'],
                    case['equal'],
                ]
                for case in result['cases']
            ],
        ),
    )


if __name__ == '__main__':
    main()
