"""Grouping loss benchmark: our ``AELoss`` against mmpose's
``AssociativeEmbeddingLoss``, forward and backward, on a crowded batch.

Both get what their heads give them: the tag maps of every stack, (B, K, H,
W) with 1-D tags, and per image the (N_i, K, 2) keypoint indices
``[y*W + x, visible]``. Only the grouping loss is timed (the heatmap loss is
mmpose's ``KeypointMSELoss`` in both heads). mmpose's loss is called
directly: its head passes it keypoint weights in a shape it rejects.
"""

import functools
from typing import List, Sequence, Tuple

import numpy as np
import torch
from mmpose.models.losses import AssociativeEmbeddingLoss
from torch import Tensor

from aeplugin.benchmark.common import describe_machine, speedup, time_call
from aeplugin.models.losses import AELoss


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


def reference_ae_loss(
    tags: Tensor, keypoint_indices: Sequence[Tensor], push_factor: float
) -> Tuple[Tensor, Tensor]:
    """The AE loss as ``AELoss`` defines it, by plain loops over images,
    people, keypoints and pairs of people (float64).

    Args:
        tags (Tensor): Tag maps in shape (B, L*K, H, W)
        keypoint_indices (Sequence[Tensor]): B tensors in shape (N_i, K, 2)
        push_factor (float): The weight of the push term

    Returns:
        tuple: pull and push, scalars
    """
    tags = tags.double()
    B, C, H, W = tags.shape
    pulls, pushes = [], []
    for image_tags, people in zip(tags, keypoint_indices):
        K = people.shape[1]
        maps = image_tags.view(C // K, K, H * W)
        means, person_pulls = [], []
        for person in people.tolist():
            kpt_tags = [
                maps[:, k, position]
                for k, (position, visible) in enumerate(person)
                if visible > 0
            ]
            if not kpt_tags:
                continue
            kpt_tags = torch.stack(kpt_tags)
            mean = kpt_tags.mean(dim=0)
            means.append(mean)
            person_pulls.append(((kpt_tags - mean) ** 2).sum(-1).mean())
        pulls.append(
            sum(person_pulls) / len(means) if means else tags.new_zeros(())
        )
        terms = [
            torch.exp(-((means[i] - means[j]) ** 2).sum())
            for i in range(len(means))
            for j in range(len(means))
            if i != j
        ]
        pushes.append(sum(terms) / len(terms) if terms else tags.new_zeros(()))
    return (
        torch.stack(pulls).mean(),
        torch.stack(pushes).mean() * push_factor,
    )


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
        float(v) for v in reference_ae_loss(tags[0], keypoint_indices, 0.5)
    ]
    our_time = time_call(
        functools.partial(_forward_backward, ours, tags, keypoint_indices),
        repeat,
        warmup,
    )
    their_time = time_call(
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
        speedup=speedup(our_time, their_time),
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
        machine=describe_machine(),
    )
