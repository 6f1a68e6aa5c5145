"""Training target generation (codec encode): ours against mmpose's.

python tools/benchmark/targets.py [--people 1 10 30] [--repeat 20]
    [--threads 1] [--out FILE]

Our ``BottomupGrouping.encode`` against mmpose's
``AssociativeEmbedding.encode`` (what ``GenerateTarget`` calls in the
training pipeline) on crowded images made of real COCO people.
"""

import functools
import sys
from pathlib import Path
from typing import Sequence, Tuple, Union

import numpy as np

from aeplugin.testing import load_coco_people

if not __package__:  # run as a script: import tools.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.benchmark import common  # noqa: E402
from tools.benchmark.decode import build_codecs  # noqa: E402


def crowd(
    ann_file: Union[str, Path], num_people: int
) -> Tuple[np.ndarray, np.ndarray]:
    """``num_people`` real people of the annotation file in one 512x512
    input: all its people, repeated with shifts when there are too few.

    Note:

        - instance number: N (``num_people``)
        - keypoint number: K

    Returns:
        tuple:
        - keypoints (np.ndarray): In shape (N, K, 2), float32
        - keypoints_visible (np.ndarray): In shape (N, K), float32 (0/1)
    """
    images = load_coco_people(ann_file)
    people = np.concatenate([image['keypoints'] for image in images])
    visible = np.concatenate([image['visible'] for image in images]) > 0
    copies = -(-num_people // len(people))
    shifts = np.arange(copies)[:, None, None, None] * np.array([23.0, -17.0])
    keypoints = (people[None] + shifts).reshape(-1, *people.shape[1:])
    visible = np.tile(visible, (copies, 1))
    return (
        keypoints[:num_people].astype(np.float32),
        visible[:num_people].astype(np.float32),
    )


def run_targets_benchmark(
    ann_file: Union[str, Path],
    crowd_sizes: Sequence[int] = (1, 10, 30),
    repeat: int = 20,
    warmup: int = 2,
) -> dict:
    """Time both encoders on crowds of each size and check that their
    targets are equal.

    Args:
        ann_file (str | Path): COCO person keypoint annotation JSON
        crowd_sizes (Sequence[int]): People per image. Defaults to
            (1, 10, 30)
        repeat (int): Timed calls per case. Defaults to 20
        warmup (int): Untimed calls per case. Defaults to 2

    Returns:
        dict: ``settings``, ``cases`` (per crowd size: ms of both,
        ``speedup`` and ``equal``: heatmaps within 1e-6, indices and weights
        identical) and ``machine``
    """
    ours, theirs = build_codecs(refine=True)
    cases = []
    for num_people in crowd_sizes:
        keypoints, visible = crowd(ann_file, num_people)
        our_targets = ours.encode(keypoints, visible)
        their_targets = theirs.encode(keypoints, visible)
        equal = bool(
            np.allclose(
                our_targets['heatmaps'],
                their_targets['heatmaps'],
                rtol=1e-6,
                atol=1e-7,
            )
            and all(
                np.array_equal(our_targets[key], their_targets[key])
                for key in ('keypoint_indices', 'keypoint_weights')
            )
        )
        our_time = common.time_call(
            functools.partial(ours.encode, keypoints, visible), repeat, warmup
        )
        their_time = common.time_call(
            functools.partial(theirs.encode, keypoints, visible),
            repeat,
            warmup,
        )
        cases.append(
            dict(
                people=num_people,
                visible_keypoints=int(visible.sum()),
                ours_ms=our_time['median_s'] * 1e3,
                mmpose_ms=their_time['median_s'] * 1e3,
                speedup=common.speedup(our_time, their_time),
                equal=equal,
                ours_time=our_time,
                mmpose_time=their_time,
            )
        )
    return dict(
        benchmark='targets',
        settings=dict(
            input_size=list(ours.input_size),
            heatmap_size=list(ours.heatmap_size),
            sigma=ours.sigma,
            use_udp=ours.use_udp,
            repeat=repeat,
            warmup=warmup,
        ),
        inputs=dict(ann_file=str(ann_file)),
        cases=cases,
        machine=common.describe_machine(),
    )


def parse_args():
    parser = common.benchmark_parser(__doc__, 'targets', warmup=2)
    parser.add_argument(
        '--ann-file',
        default=common.SHIPPED_ANN_FILE,
        help='COCO person keypoint annotations the crowds are made of',
    )
    parser.add_argument('--people', type=int, nargs='+', default=[1, 10, 30])
    parser.add_argument('--repeat', type=int, default=20)
    return parser.parse_args()


def main():
    args = parse_args()
    common.set_threads(args.threads)
    result = run_targets_benchmark(
        args.ann_file, args.people, args.repeat, args.warmup
    )
    common.report(
        result,
        args.out,
        common.format_table(
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
