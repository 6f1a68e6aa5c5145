"""Decoding speed and accuracy: ours against mmpose's AssociativeEmbedding.

python tools/benchmark/decode.py [--seeds 0 1 2] [--batch-sizes 1 16]
    [--repeat 3] [--threads 1] [--device cpu] [--out FILE]
"""

import argparse
from pathlib import Path

import torch

from aeplugin.benchmark.common import (
    default_out,
    format_machine,
    format_table,
    write_json,
)
from aeplugin.benchmark.decode import run_decode_benchmark

REPO = Path(__file__).resolve().parents[2]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--ann-file',
        default=REPO
        / 'data/coco-mini/annotations/person_keypoints_train2017.json',
        help='COCO person keypoint annotations whose people are rendered',
    )
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 16])
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads (default 1: both decoders run small ops, and '
        'a second thread mostly adds noise on a shared machine)',
    )
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='where our decoder gets the maps (mmpose decodes on the CPU)',
    )
    parser.add_argument('--out', default=default_out('decode'))
    return parser.parse_args()


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    result = run_decode_benchmark(
        args.ann_file,
        seeds=args.seeds,
        batch_sizes=args.batch_sizes,
        repeat=args.repeat,
        warmup=args.warmup,
        device=args.device,
    )
    inputs = result['inputs']
    print(format_machine(result['machine']))
    print(
        f'{inputs["maps"]} maps ({inputs["images"]} images x '
        f'{len(args.seeds)} noise seeds, {inputs["people"]} people), '
        '128x128, K=17'
    )
    print(
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
        )
    )
    print(
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
        )
    )
    print(f'written to {write_json(result, args.out)}')


if __name__ == '__main__':
    main()
