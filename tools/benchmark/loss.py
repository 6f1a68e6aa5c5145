"""AE grouping loss, forward + backward: ours against mmpose's.

python tools/benchmark/loss.py [--batch-size 32] [--max-people 30]
    [--stacks 4] [--repeat 5] [--threads 1] [--out FILE]

Our ``AELoss`` against mmpose's ``AssociativeEmbeddingLoss`` on a crowded
batch. Both get what their heads give them: the tag maps of every stack,
(B, K, H, W) with 1-D tags, and per image the (N_i, K, 2) keypoint indices
``[y*W + x, visible]``. Only the grouping loss is timed (the heatmap loss is
mmpose's ``KeypointMSELoss`` in both heads). mmpose's loss is called
directly: its head passes it keypoint weights in a shape it rejects.
"""

import functools
import sys
from pathlib import Path
from typing import List, Tuple

import numpy as np
import torch
from mmpose.models.losses import AssociativeEmbeddingLoss
from torch import Tensor

from aeplugin.models.losses import AELoss
from aeplugin.testing import reference_ae_loss

if not __package__:  # run as a script: import tools.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.benchmark import common  # noqa: E402


def crowded_batch(
    batch_size: int = 32,
    max_people: int = 30,
    num_keypoints: int = 17,
    heatmap_size: int = 128,
    num_stacks: int = 4,
    visible_prob: float = 0.7,
    seed: int = 0,
) -> Tuple[List[Tensor], List[Tensor]]:
    """Random tag maps and keypoint indices of a crowded batch.

    Image i holds N_i people, N_i drawn from [max_people / 2, max_people]
    (the first image exactly ``max_people``); a keypoint is visible with
    ``visible_prob``.

    Note:

        - batch size: B
        - instance number: N_i (image i)
        - keypoint number: K
        - heatmap size: [W, H] (both ``heatmap_size``)

    Returns:
        tuple:
        - tags (List[Tensor]): ``num_stacks`` tag maps in shape (B, K, H, W)
        - keypoint_indices (List[Tensor]): B tensors in shape (N_i, K, 2)
    """
    rng = np.random.default_rng(seed)
    counts = rng.integers(max_people // 2, max_people + 1, batch_size)
    counts[0] = max_people
    keypoint_indices = []
    for count in counts:
        positions = rng.integers(0, heatmap_size**2, (count, num_keypoints, 1))
        visible = rng.random((count, num_keypoints, 1)) < visible_prob
        keypoint_indices.append(
            torch.from_numpy(np.concatenate([positions, visible], axis=-1))
        )
    generator = torch.Generator().manual_seed(seed)
    tags = [
        torch.randn(
            batch_size,
            num_keypoints,
            heatmap_size,
            heatmap_size,
            generator=generator,
        )
        for _ in range(num_stacks)
    ]
    return tags, keypoint_indices


def _forward_backward(loss_module, tags: List[Tensor], keypoint_indices):
    """Both loss terms of every stack, summed, then backward."""
    inputs = [stack_tags.detach().requires_grad_() for stack_tags in tags]
    total = 0
    for stack_tags in inputs:
        pull, push = loss_module(stack_tags, keypoint_indices)
        total = total + pull + push
    total.backward()
    return total


def run_loss_benchmark(
    batch_size: int = 32,
    max_people: int = 30,
    num_keypoints: int = 17,
    heatmap_size: int = 128,
    num_stacks: int = 4,
    repeat: int = 5,
    warmup: int = 1,
    mmpose_repeat: int = 3,
) -> dict:
    """Time both losses (forward + backward over every stack) and check our
    values against :func:`reference_ae_loss`.

    Args:
        batch_size (int): B. Defaults to 32
        max_people (int): The most people per image. Defaults to 30
        num_keypoints (int): K. Defaults to 17
        heatmap_size (int): Tag map side. Defaults to 128
        num_stacks (int): Supervised stacks. Defaults to 4
        repeat (int): Timed runs of ours. Defaults to 5
        warmup (int): Untimed runs of each. Defaults to 1
        mmpose_repeat (int): Timed runs of mmpose's (slow). Defaults to 3

    Returns:
        dict: ``settings``, ``inputs`` (people counts), ``ours_ms`` and
        ``mmpose_ms`` (forward + backward, median), ``speedup``, ``values``
        (ours, the reference's and mmpose's pull and push of the first
        stack, and ``max_abs_diff`` of ours to the reference), ``machine``
    """
    tags, keypoint_indices = crowded_batch(
        batch_size, max_people, num_keypoints, heatmap_size, num_stacks
    )
    ours = AELoss(loss_weight=1.0, push_loss_factor=0.5)
    theirs = AssociativeEmbeddingLoss(loss_weight=1.0, push_loss_factor=0.5)

    with torch.no_grad():
        our_values = [float(v) for v in ours(tags[0], keypoint_indices)]
        their_values = [float(v) for v in theirs(tags[0], keypoint_indices)]
    reference = [
        float(v)
        for v in reference_ae_loss(tags[0], keypoint_indices, push_factor=0.5)
    ]
    our_time = common.time_call(
        functools.partial(_forward_backward, ours, tags, keypoint_indices),
        repeat,
        warmup,
    )
    their_time = common.time_call(
        functools.partial(_forward_backward, theirs, tags, keypoint_indices),
        mmpose_repeat,
        warmup,
    )
    counts = [len(people) for people in keypoint_indices]
    return dict(
        benchmark='loss',
        settings=dict(
            batch_size=batch_size,
            max_people=max_people,
            num_keypoints=num_keypoints,
            tag_dim=1,
            heatmap_size=heatmap_size,
            num_stacks=num_stacks,
            timed='AELoss alone vs AssociativeEmbeddingLoss alone, forward '
            '+ backward of pull + push summed over the stacks',
            repeat=repeat,
            mmpose_repeat=mmpose_repeat,
            warmup=warmup,
        ),
        inputs=dict(
            people=int(sum(counts)),
            people_per_image=[min(counts), max(counts)],
        ),
        ours_ms=our_time['median_s'] * 1e3,
        mmpose_ms=their_time['median_s'] * 1e3,
        speedup=common.speedup(our_time, their_time),
        ours_time=our_time,
        mmpose_time=their_time,
        values=dict(
            ours=dict(pull=our_values[0], push=our_values[1]),
            reference=dict(pull=reference[0], push=reference[1]),
            mmpose=dict(pull=their_values[0], push=their_values[1]),
            max_abs_diff=max(
                abs(a - b) for a, b in zip(our_values, reference)
            ),
            note='ours and the reference: push over pairs of different '
            'people, both terms averaged over images; mmpose: push also '
            'sums the N self-pairs, both terms summed over images',
        ),
        machine=common.describe_machine(),
    )


def parse_args():
    parser = common.benchmark_parser(__doc__, 'loss')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--max-people', type=int, default=30)
    parser.add_argument('--keypoints', type=int, default=17)
    parser.add_argument('--heatmap-size', type=int, default=128)
    parser.add_argument('--stacks', type=int, default=4)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument(
        '--mmpose-repeat',
        type=int,
        default=3,
        help="timed runs of mmpose's loss (seconds each)",
    )
    return parser.parse_args()


def main():
    args = parse_args()
    common.set_threads(args.threads)
    result = run_loss_benchmark(
        batch_size=args.batch_size,
        max_people=args.max_people,
        num_keypoints=args.keypoints,
        heatmap_size=args.heatmap_size,
        num_stacks=args.stacks,
        repeat=args.repeat,
        warmup=args.warmup,
        mmpose_repeat=args.mmpose_repeat,
    )
    values = result['values']
    common.report(
        result,
        args.out,
        f'B={args.batch_size}, {result["inputs"]["people"]} people '
        f'({result["inputs"]["people_per_image"][0]} to '
        f'{result["inputs"]["people_per_image"][1]} per image), '
        f'{args.stacks} stacks, K={args.keypoints}, '
        f'{args.heatmap_size}x{args.heatmap_size} tags; AELoss alone vs '
        'AssociativeEmbeddingLoss alone, forward + backward',
        f'ours {result["ours_ms"]:.1f} ms, mmpose {result["mmpose_ms"]:.1f} '
        f'ms: {result["speedup"]:.1f}x',
        f'values (stack 1): ours pull {values["ours"]["pull"]:.7f} push '
        f'{values["ours"]["push"]:.7f}; reference loop pull '
        f'{values["reference"]["pull"]:.7f} push '
        f'{values["reference"]["push"]:.7f}; largest difference '
        f'{values["max_abs_diff"]:.2e}',
    )


if __name__ == '__main__':
    main()
