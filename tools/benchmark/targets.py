"""Training target generation (codec encode): ours against mmpose's.

python tools/benchmark/targets.py [--people 1 10 30] [--repeat 20]
    [--threads 1] [--out FILE]
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
from aeplugin.benchmark.targets import run_targets_benchmark

REPO = Path(__file__).resolve().parents[2]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--ann-file',
        default=REPO
        / 'data/coco-mini/annotations/person_keypoints_train2017.json',
        help='COCO person keypoint annotations the crowds are made of',
    )
    parser.add_argument('--people', type=int, nargs='+', default=[1, 10, 30])
    parser.add_argument('--repeat', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--out', default=default_out('targets'))
    return parser.parse_args()


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    result = run_targets_benchmark(
        args.ann_file, args.people, args.repeat, args.warmup
    )
    print(format_machine(result['machine']))
    print(
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
        )
    )
    print(f'written to {write_json(result, args.out)}')


if __name__ == '__main__':
    main()
