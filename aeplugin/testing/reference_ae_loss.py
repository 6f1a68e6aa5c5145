"""A loop reference of the Associative Embedding grouping loss."""

from typing import Sequence, Tuple

import torch
from torch import Tensor


def reference_ae_loss(
    tags: Tensor,
    keypoint_indices: Sequence[Tensor],
    push_type: str = 'exp',
    push_factor: float = 1.0,
) -> Tuple[Tensor, Tensor]:
    """The AE loss as ``AELoss`` defines it, by plain loops over images,
    people, keypoints and pairs of people, in float64.

    Per image, a person's tag is the mean of the tags at its visible
    keypoints; pull is the mean over people of the mean squared distance
    of their keypoint tags to their tag, push the mean over ordered pairs
    of different people of ``exp(-d**2)`` (``push_type='exp'``) or
    ``max(0, 1 - d)`` (``'max'``), d the distance between their tags; an
    image with no such person (or pair) contributes 0. Both terms are
    averaged over the images.

    Note:

        - batch size: B
        - instance number: N_i (image i)
        - keypoint number: K
        - embedding tag dimension: L
        - heatmap size: [W, H]

    Args:
        tags (Tensor): Tag maps in shape (B, L*K, H, W), channel ``l*K +
            k`` holding dimension l of keypoint k
        keypoint_indices (Sequence[Tensor]): B tensors in shape (N_i, K,
            2), each index [y*W+x, visible]
        push_type (str): ``'exp'`` or ``'max'``. Defaults to ``'exp'``
        push_factor (float): The weight of the push term. Defaults to 1.0

    Returns:
        tuple:
        - pull (Tensor): The pull term, a float64 scalar
        - push (Tensor): The push term times ``push_factor``, a float64
            scalar
    """
    if push_type not in ('exp', 'max'):
        raise ValueError(
            f"push_type must be 'exp' or 'max', got {push_type!r}"
        )
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
        terms = []
        for i in range(len(means)):
            for j in range(len(means)):
                if i != j:
                    d2 = ((means[i] - means[j]) ** 2).sum()
                    terms.append(
                        torch.exp(-d2)
                        if push_type == 'exp'
                        else torch.clamp(1 - d2.sqrt(), min=0)
                    )
        pushes.append(sum(terms) / len(terms) if terms else tags.new_zeros(()))
    return (
        torch.stack(pulls).mean(),
        torch.stack(pushes).mean() * push_factor,
    )
