from typing import Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from aeplugin.registry import MODELS


@MODELS.register_module()
class AELoss(nn.Module):
    """The grouping loss of Associative Embedding (pull + push).

    Drop-in for mmpose's ``AssociativeEmbeddingLoss`` (same call contract),
    computed for the whole batch with gathers and segment reductions instead
    of Python loops over images, people and keypoints. Two deliberate
    differences from mmpose: the push term averages over ordered pairs of
    *different* people (mmpose also sums the N self-pairs, which adds a
    constant L / (N - 1)), and both terms are averaged over the images of the
    batch (mmpose sums them, so its scale grows with the batch size). A
    third for L > 1 tags only, by default: see ``tag_distance``.

    For one image whose N people have visible keypoints, with m_n the mean
    tag of person n over its visible keypoints:

    - pull = mean_n mean_{k visible} ||t_nk - m_n||^2
    - push = push_loss_factor * mean_{i != j} exp(-||m_i - m_j||^2), or
      ``max(0, 1 - ||m_i - m_j||)`` with ``push_type='max'``

    Images with fewer than two people contribute 0 push; with none, 0 pull.

    For L > 1, ``||.||`` is the Euclidean norm over the L dimensions
    (``tag_distance='euclidean'``): the paper's distance of embeddings, and
    the one the decoder groups by (``decode_tag_thr`` bounds it).
    ``tag_distance='per_dim'`` takes mmpose's definition instead, each
    dimension a 1-D tag: pull = mean_n mean_{k visible} mean_l
    (t_nkl - m_nl)^2 and push sums exp(-(m_il - m_jl)^2) over the
    dimensions. Both give the same loss for L = 1.

    Note:
        - batch size: B
        - instance number: N (N_i in image i)
        - keypoint number: K
        - embedding tag dimension: L
        - heatmap size: [W, H]

    Args:
        loss_weight (float): Weight of both terms (paper: 1e-3). Defaults to
            1.0
        push_loss_factor (float): Extra weight of the push term. Defaults to
            0.5, as the official code
        push_type (str): ``'exp'`` (paper) or ``'max'`` (hinge on the tag
            distance). Defaults to ``'exp'``
        tag_distance (str): How L > 1 tag dimensions combine:
            ``'euclidean'`` (squared Euclidean norm, the paper) or
            ``'per_dim'`` (mmpose's ``AssociativeEmbeddingLoss``; only with
            ``push_type='exp'``). Defaults to ``'euclidean'``
    """

    def __init__(
        self,
        loss_weight: float = 1.0,
        push_loss_factor: float = 0.5,
        push_type: str = 'exp',
        tag_distance: str = 'euclidean',
    ) -> None:
        super().__init__()
        if push_type not in ('exp', 'max'):
            raise ValueError(
                f"push_type must be 'exp' or 'max', got {push_type!r}"
            )
        if tag_distance not in ('euclidean', 'per_dim'):
            raise ValueError(
                "tag_distance must be 'euclidean' or 'per_dim', got "
                f'{tag_distance!r}'
            )
        if tag_distance == 'per_dim' and push_type != 'exp':
            raise ValueError(
                "tag_distance='per_dim' reproduces mmpose's exp push; "
                "push_type='max' needs tag_distance='euclidean'"
            )
        self.loss_weight = loss_weight
        self.push_loss_factor = push_loss_factor
        self.push_type = push_type
        self.tag_distance = tag_distance

    def forward(
        self, tags: Tensor, keypoint_indices: Union[Sequence[Tensor], Tensor]
    ) -> Tuple[Tensor, Tensor]:
        """Compute the pull and push losses of a batch.

        Args:
            tags (Tensor): Tag maps in shape (B, L*K, H, W); channel
                ``l*K + k`` holds dimension l of keypoint k
            keypoint_indices (Sequence[Tensor] | Tensor): One tensor in
                shape (B, N, K, 2) (people without a visible keypoint are
                padding), or B tensors in shape (N_i, K, 2), padded first by
                :func:`pad_keypoint_indices`. Each entry is
                ``[y*W + x, visible]`` at heatmap resolution

        Returns:
            tuple:
            - pull (Tensor): scalar
            - push (Tensor): scalar
        """
        # Under autocast the reductions below run in float32 while a half
        # `tags` would make half accumulators (index_add_ refuses the mix),
        # and distances of nearby tags need float32 precision anyway.
        if tags.dtype in (torch.float16, torch.bfloat16):
            tags = tags.float()
        if not isinstance(keypoint_indices, Tensor):
            keypoint_indices = pad_keypoint_indices(
                keypoint_indices, tags.shape[2:], tags.device
            )
        person_tags, visible, image_ids = self._gather_person_tags(
            tags, keypoint_indices
        )
        B, N = keypoint_indices.shape[:2]

        num_visible = visible.sum(dim=1)  # (P, )
        has_tags = num_visible > 0
        denom = num_visible.clamp(min=1)
        # (P, L): mean tag of each person over its visible keypoints
        means = (person_tags * visible[..., None]).sum(dim=1) / denom[:, None]
        sq_diff = (person_tags - means[:, None]).pow(2)  # (P, K, L)
        if self.tag_distance == 'euclidean':
            sq_dist = sq_diff.sum(dim=-1)
        else:
            sq_dist = sq_diff.mean(dim=-1)
        person_pull = (sq_dist * visible).sum(dim=1) / denom  # (P, )

        people_per_image = tags.new_zeros(B).index_add_(
            0, image_ids, has_tags.to(tags.dtype)
        )
        pull_per_image = tags.new_zeros(B).index_add_(
            0, image_ids, person_pull * has_tags
        )
        pull = (pull_per_image / people_per_image.clamp(min=1)).mean()

        push = self._push_per_image(
            means.view(B, N, means.shape[-1]), has_tags.view(B, N)
        ).mean()
        return (
            pull * self.loss_weight,
            push * self.loss_weight * self.push_loss_factor,
        )

    @staticmethod
    def _gather_person_tags(
        tags: Tensor, keypoint_indices: Tensor
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Every person's keypoint tags, without a host synchronisation:
        positions are checked where the indices are made
        (``bottomup_collate``, :func:`pad_keypoint_indices`); a position
        outside the map fails the gather.

        Args:
            tags (Tensor): (B, L*K, H, W)
            keypoint_indices (Tensor): (B, N, K, 2)

        Returns:
            tuple:
            - person_tags (Tensor): (B*N, K, L)
            - visible (Tensor): (B*N, K) in the tags' dtype, 1 for visible
              keypoints
            - image_ids (Tensor): (B*N, ) int64, the image of each person
        """
        if tags.ndim != 4:
            raise ValueError(
                f'tags must be (B, L*K, H, W), got shape {tuple(tags.shape)}'
            )
        B, C, H, W = tags.shape
        if keypoint_indices.ndim != 4 or keypoint_indices.shape[-1] != 2:
            raise ValueError(
                'keypoint_indices must be (B, N, K, 2), got shape '
                f'{tuple(keypoint_indices.shape)}'
            )
        if keypoint_indices.shape[0] != B:
            raise ValueError(
                f'keypoint_indices holds {keypoint_indices.shape[0]} images '
                f'but tags hold {B}'
            )
        N, K = keypoint_indices.shape[1:3]
        if C % K != 0:
            raise ValueError(
                f'tags have {C} channels, not a multiple of K={K} keypoints'
            )
        if keypoint_indices.device != tags.device:
            keypoint_indices = keypoint_indices.to(tags.device)
        all_idx = keypoint_indices.long().reshape(B * N, K, 2)
        position, visible = all_idx[..., 0], all_idx[..., 1] > 0
        position = torch.where(visible, position, torch.zeros_like(position))
        # (B, K, H*W, L) so one advanced index gathers every (person, kpt)
        flat = tags.view(B, C // K, K, H * W).permute(0, 2, 3, 1)
        image_ids = torch.arange(B, device=tags.device).repeat_interleave(N)
        kpt_ids = torch.arange(K, device=tags.device)
        person_tags = flat[image_ids[:, None], kpt_ids[None], position]
        return person_tags, visible.to(tags.dtype), image_ids

    def _push_per_image(self, table: Tensor, valid: Tensor) -> Tensor:
        """Mean push over ordered pairs of different people, per image.

        Args:
            table (Tensor): (B, N, L) mean tag of each person slot
            valid (Tensor): (B, N) bool, the slot holds a person with a
                visible keypoint

        Returns:
            Tensor: (B, ) push of each image (0 with fewer than 2 people)
        """
        n_max = table.shape[1]
        sq_diff = (table[:, :, None] - table[:, None]).pow(2)  # (B,N,N,L)
        sq_dist = sq_diff.sum(-1)
        if self.tag_distance == 'per_dim':
            pair_loss = torch.exp(-sq_diff).sum(-1)
        elif self.push_type == 'exp':
            pair_loss = torch.exp(-sq_dist)
        else:
            # clamp keeps the sqrt differentiable for identical tags
            pair_loss = (1 - sq_dist.clamp(min=1e-12).sqrt()).clamp(min=0)
        eye = torch.eye(n_max, dtype=torch.bool, device=table.device)
        pairs = valid[:, :, None] & valid[:, None] & ~eye
        num_pairs = pairs.sum(dim=(1, 2)).clamp(min=1)
        return (pair_loss * pairs).sum(dim=(1, 2)) / num_pairs


def pad_keypoint_indices(
    keypoint_indices: Sequence[Tensor],
    map_size: Tuple[int, int],
    device: torch.device,
) -> Tensor:
    """Pad per-image keypoint indices to one tensor, as
    ``bottomup_collate`` does: the people of each image padded to the most
    of an image with unlabelled keypoints, which the losses ignore.

    Each image's indices are checked: shape, keypoint count and that every
    visible keypoint lies on the map (one host synchronisation for indices
    on a device). Indices that all live on the CPU are padded there and
    moved once.

    Note:
        - batch size: B
        - instance number: N (N_i in image i)
        - keypoint number: K

    Args:
        keypoint_indices (Sequence[Tensor]): B tensors (or arrays) in shape
            (N_i, K, 2), each entry ``[y*W + x, visible]``
        map_size (tuple): The maps' (H, W)
        device (torch.device): Where the result lives

    Returns:
        Tensor: The indices in shape (B, N, K, 2), int64, on ``device``
    """
    indices = [torch.as_tensor(idx) for idx in keypoint_indices]
    if not indices:
        raise ValueError('keypoint_indices holds no image')
    K = indices[0].shape[1] if indices[0].ndim == 3 else None
    for i, idx in enumerate(indices):
        if idx.ndim != 3 or idx.shape[1:] != (K, 2):
            raise ValueError(
                f'keypoint_indices[{i}] must be (N, K, 2) with the K of the '
                f'first image, got shape {tuple(idx.shape)}'
            )
    on_host = all(idx.device.type == 'cpu' for idx in indices)
    where = torch.device('cpu') if on_host else torch.device(device)
    padded = torch.zeros(
        len(indices),
        max(len(idx) for idx in indices),
        K,
        2,
        dtype=torch.int64,
        device=where,
    )
    for i, idx in enumerate(indices):
        padded[i, : len(idx)] = idx
    H, W = map_size
    position, visible = padded[..., 0], padded[..., 1] > 0
    outside = visible & ((position < 0) | (position >= H * W))
    if outside.any():
        image, person, keypoint = outside.nonzero()[0].tolist()
        raise ValueError(
            f'keypoint_indices[{image}] has a visible keypoint {keypoint} '
            f'of person {person} at position '
            f'{int(position[image, person, keypoint])}, outside the {W}x{H} '
            'map'
        )
    return (
        padded if padded.device == torch.device(device) else padded.to(device)
    )
