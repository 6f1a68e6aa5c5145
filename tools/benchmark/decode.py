"""Decoding speed and accuracy: ours against mmpose's AssociativeEmbedding.

python tools/benchmark/decode.py [--seeds 0 1 2] [--batch-sizes 1 16]
    [--repeat 3] [--threads 1] [--device cpu] [--out FILE]
"""

import torch

from aeplugin.benchmark.common import (
    SHIPPED_ANN_FILE,
    benchmark_parser,
    format_table,
    report,
    set_threads,
)
from aeplugin.benchmark.decode import run_decode_benchmark


def parse_args():
    # One thread by default: both decoders run small ops, and a second
    # thread mostly adds noise on a shared machine.
    parser = benchmark_parser(__doc__, 'decode')
    parser.add_argument(
        '--ann-file',
        default=SHIPPED_ANN_FILE,
        help='COCO person keypoint annotations whose people are rendered',
    )
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 16])
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='where our decoder gets the maps (mmpose decodes on the CPU)',
    )
    return parser.parse_args()


def main():
    args = parse_args()
    set_threads(args.threads)
    result = run_decode_benchmark(
        args.ann_file,
        seeds=args.seeds,
        batch_sizes=args.batch_sizes,
        repeat=args.repeat,
        warmup=args.warmup,
        device=args.device,
    )
    inputs = result['inputs']
    report(
        result,
        args.out,
        f'{inputs["maps"]} maps ({inputs["images"]} images x '
        f'{len(args.seeds)} noise seeds, {inputs["people"]} people), '
        '128x128, K=17',
        format_table(
            ['refine', 'batch', 'ours ms/image', 'mmpose ms/image', 'speedup'],
            [
                [
                    'on' if case['refine'] else 'off',
                    case['batch_size'],
                    case['ours_ms_per_image'],
                    case['mmpose_ms_per_image'],
                    case['speedup'],
                ]
                for case in result['cases']
            ],
        ),
        format_table(
            ['refine', 'ours COCO AP', 'mmpose COCO AP'],
            [
                [
                    'on' if row['refine'] else 'off',
                    row['ours_ap'],
                    row['mmpose_ap'],
                ]
                for row in result['accuracy']
            ],
        ),
    )


if __name__ == '__main__':
    main()
