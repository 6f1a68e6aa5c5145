"""Associative Embedding codec with vectorized encoding and batched decoding.

The decoding follows the official Associative Embedding post-processing
(heatmap NMS, greedy tag grouping by optimal assignment, quarter-pixel
adjustment, tag-guided filling of missing keypoints) and mmpose's
``AssociativeEmbedding`` codec, fixing these defects of the latter:

- groups are indexed by an integer id instead of a float tag value, so two
  people with equal tags no longer overwrite each other's keypoints;
- ``decode_max_instances`` keeps the highest-scoring people instead of the
  first ones created;
- the tag used to fill a person's missing keypoints is the mean tag of its
  grouped candidates, not the tag read at the adjusted (and then truncated)
  keypoint location;
- filled keypoints get the same sub-pixel adjustment as grouped ones;
- with ``use_udp=True`` the fill searches the raw heatmaps (mmpose searches
  the log-blurred heatmaps its DARK refinement wrote in place, and so also
  modifies the caller's tensor).
"""

from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmpose.codecs.base import BaseKeypointCodec
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from aeplugin.registry import KEYPOINT_CODECS

from .utils import (
    encode_keypoint_indices,
    fill_missing_keypoints,
    generate_gaussian_heatmaps,
    locate_keypoints,
    top_candidates,
)
from .utils.checks import (
    check_bool,
    check_decode_inputs,
    check_encode_inputs,
    check_image_maps,
    check_keypoint_order,
    check_number,
    check_odd_kernel,
    check_positive_int,
    check_size,
)


@KEYPOINT_CODECS.register_module()
class BottomupGrouping(BaseKeypointCodec):
    """Associative Embedding codec (`Associative Embedding`_, Newell et
    al., 2017): Gaussian heatmaps and tag indices for training, tag-based
    grouping of heatmap peaks for inference.

    Note:

        - instance number: N (per image)
        - keypoint number: K
        - embedding tag dimension: L
        - batch size: B
        - image size: [w, h]
        - heatmap size: [W, H]

    Encoding is value-for-value the same as mmpose's
    ``AssociativeEmbedding``; decoding is batched on the input's device
    except for the per-image grouping.

    Encoded (:meth:`encode` of keypoints (N, K, 2) in the image space and
    their visibilities (N, K)):

        - heatmaps (np.ndarray): The Gaussian heatmaps in shape (K, H, W)
        - keypoint_indices (np.ndarray): The keypoint position indices in
            shape (N, K, 2). Each index is [i, v] with :math:`i=y*W+x` the
            flat heatmap position and v the visibility (0 when the keypoint
            is not visible or falls outside the heatmap)
        - keypoint_weights (np.ndarray): The target weights in shape (N, K)

    Decoded (:meth:`batch_decode` of heatmaps (B, K, H, W) and tag maps
    (B, K*L, H, W), channel ``l*K + k`` holding dimension l of keypoint k),
    per image:

        - keypoints (np.ndarray): Keypoints in the image space in shape
            (N, K, 2)
        - keypoint_scores (np.ndarray): Keypoint scores in shape (N, K)
        - instance_scores (np.ndarray): Instance scores in shape (N, )

    Args:
        input_size (tuple): Image size in [w, h]
        heatmap_size (tuple): Heatmap size in [W, H]
        sigma (float, optional): The sigma of the Gaussian heatmap. ``None``
            means :math:`\\sqrt{W H} / 64`. Defaults to ``None``
        use_udp (bool): Whether to use unbiased data processing (`UDP`_):
            UDP heatmaps and scale factor, DARK-UDP adjustment. Defaults to
            ``False``
        decode_keypoint_order (List[int]): The order in which keypoint types
            are grouped, a permutation of ``range(K)``; empty means
            ``range(K)``. Grouping usually starts from the head and torso.
            Defaults to ``[]``
        decode_nms_kernel (int): The max-pooling kernel of the heatmap NMS,
            an odd int. Defaults to 5
        decode_gaussian_kernel (int): The Gaussian blur kernel of the
            DARK-UDP adjustment, an odd int; only used with ``use_udp``.
            Defaults to 3
        decode_keypoint_thr (float): Candidates with a heatmap value not
            above this are not grouped. Defaults to 0.1
        decode_tag_thr (float): The largest tag distance at which a
            candidate may join a group. Defaults to 1.0
        decode_topk (int): The number of candidates per keypoint type taken
            from the heatmap (at most H*W are taken). Defaults to 30
        decode_center_shift (float): The offset added to decoded keypoint
            coordinates in heatmap space. Defaults to 0.0
        decode_max_instances (int, optional): The number of highest-scoring
            instances to keep; ``None`` keeps all. Defaults to ``None``
        adjust (bool): Whether to refine each keypoint to sub-pixel accuracy
            (a quarter pixel toward the higher neighbour, or DARK-UDP with
            ``use_udp``). Defaults to ``True``
        refine (bool): Whether to fill each instance's missing keypoints at
            the heatmap location that best matches its mean tag. Defaults to
            ``True``

    .. _`Associative Embedding`: https://arxiv.org/abs/1611.05424
    .. _`UDP`: https://arxiv.org/abs/1911.07524
    """

    # mmpose's GenerateTarget hands these tables to PackPoseInputs, which
    # then packs only their keys (those present in the sample), so they list
    # what the AE head reads and the boxes PackPoseInputs' own table keeps,
    # not only what encode() returns: ``heatmap_mask`` comes from
    # BottomupCrowdMask (packed when it ran, skipped otherwise) and the boxes
    # from the dataset.
    label_mapping_table = dict(
        keypoint_weights='keypoint_weights',
        keypoint_indices='keypoint_indices',
    )
    field_mapping_table = dict(
        heatmaps='heatmaps', heatmap_mask='heatmap_mask'
    )
    instance_mapping_table = dict(
        bbox='bboxes',
        bbox_score='bbox_scores',
        bbox_scale='bbox_scales',
        keypoints='keypoints',
        keypoints_visible='keypoints_visible',
    )
    support_batch_decoding = True

    def __init__(
        self,
        input_size: Tuple[int, int],
        heatmap_size: Tuple[int, int],
        sigma: Optional[float] = None,
        use_udp: bool = False,
        decode_keypoint_order: List[int] = [],
        decode_nms_kernel: int = 5,
        decode_gaussian_kernel: int = 3,
        decode_keypoint_thr: float = 0.1,
        decode_tag_thr: float = 1.0,
        decode_topk: int = 30,
        decode_center_shift: float = 0.0,
        decode_max_instances: Optional[int] = None,
        adjust: bool = True,
        refine: bool = True,
    ) -> None:
        super().__init__()
        self.input_size = check_size('input_size', input_size)
        self.heatmap_size = check_size('heatmap_size', heatmap_size)
        self.use_udp = check_bool('use_udp', use_udp)
        self.adjust = check_bool('adjust', adjust)
        self.refine = check_bool('refine', refine)
        self.decode_nms_kernel = check_odd_kernel(
            'decode_nms_kernel', decode_nms_kernel
        )
        self.decode_gaussian_kernel = check_odd_kernel(
            'decode_gaussian_kernel', decode_gaussian_kernel
        )
        self.decode_keypoint_thr = check_number(
            'decode_keypoint_thr', decode_keypoint_thr
        )
        self.decode_tag_thr = check_number(
            'decode_tag_thr', decode_tag_thr, positive=True
        )
        self.decode_center_shift = check_number(
            'decode_center_shift', decode_center_shift
        )
        self.decode_topk = check_positive_int('decode_topk', decode_topk)
        self.decode_max_instances = check_positive_int(
            'decode_max_instances', decode_max_instances, optional=True
        )
        self.decode_keypoint_order = check_keypoint_order(
            'decode_keypoint_order', decode_keypoint_order
        )

        if sigma is None:
            sigma = (self.heatmap_size[0] * self.heatmap_size[1]) ** 0.5 / 64
        self.sigma = check_number('sigma', sigma, positive=True)

        input_wh = np.array(self.input_size)
        heatmap_wh = np.array(self.heatmap_size)
        if use_udp:
            if min(self.heatmap_size) < 2:
                raise ValueError(
                    'heatmap_size must be at least 2x2 with '
                    f'use_udp=True, got {heatmap_size!r}'
                )
            self.scale_factor = ((input_wh - 1) / (heatmap_wh - 1)).astype(
                np.float32
            )
        else:
            self.scale_factor = (input_wh / heatmap_wh).astype(np.float32)

    def encode(
        self,
        keypoints: np.ndarray,
        keypoints_visible: Optional[np.ndarray] = None,
    ) -> dict:
        """Encode keypoints into Gaussian heatmaps and position indices.

        Note:

            - instance number: N
            - keypoint number: K
            - heatmap size: [W, H]

        Args:
            keypoints (np.ndarray): Keypoint coordinates in the input image
                space in shape (N, K, 2)
            keypoints_visible (np.ndarray, optional): Keypoint visibilities in
                shape (N, K); ``None`` means all visible

        Returns:
            dict:
            - heatmaps (np.ndarray): The heatmaps in shape (K, H, W), float32
            - keypoint_indices (np.ndarray): The position indices [y*W+x, v]
                in shape (N, K, 2), int64
            - keypoint_weights (np.ndarray): The target weights in shape
                (N, K), float32
        """
        keypoints, keypoints_visible = check_encode_inputs(
            keypoints, keypoints_visible
        )
        keypoints = keypoints / self.scale_factor

        heatmaps, keypoint_weights = generate_gaussian_heatmaps(
            self.heatmap_size,
            keypoints,
            keypoints_visible,
            self.sigma,
            self.use_udp,
        )

        keypoint_indices = encode_keypoint_indices(
            self.heatmap_size, keypoints, keypoints_visible
        )
        return dict(
            heatmaps=heatmaps,
            keypoint_indices=keypoint_indices,
            keypoint_weights=keypoint_weights,
        )

    def decode(
        self,
        heatmaps: Union[np.ndarray, Tensor],
        tags: Union[np.ndarray, Tensor],
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decode the instances of one image; see :meth:`batch_decode`.

        Note:

            - instance number: N
            - keypoint number: K
            - embedding tag dimension: L
            - heatmap size: [W, H]

        Args:
            heatmaps (np.ndarray | Tensor): Heatmaps in shape (K, H, W)
            tags (np.ndarray | Tensor): Tag maps in shape (K*L, H, W)

        Returns:
            tuple:
            - keypoints (np.ndarray): Keypoints in the input image space in
                shape (N, K, 2)
            - keypoint_scores (np.ndarray): Keypoint scores in shape (N, K)
            - instance_scores (np.ndarray): Instance scores in shape (N, )
        """
        keypoints, keypoint_scores, instance_scores = self.batch_decode(
            check_image_maps('heatmaps', heatmaps)[None],
            check_image_maps('tags', tags)[None],
        )
        return keypoints[0], keypoint_scores[0], instance_scores[0]

    def batch_decode(
        self, batch_heatmaps: Tensor, batch_tags: Tensor
    ) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
        """Decode the instances of a batch of heatmaps and tag maps.

        Candidates are the top-k NMS peaks of each heatmap above
        ``decode_keypoint_thr``. They are grouped into instances keypoint
        type by keypoint type (``decode_keypoint_order``), matching
        candidates to groups (tag: mean of the members' tags) by optimal
        assignment on ``round(tag distance) * 100 - heatmap value``; a match
        needs a tag distance below ``decode_tag_thr``, unmatched candidates
        start new groups. The instance score is the mean over the K keypoint
        types of the grouped candidates' values (0 for a missing type),
        computed before missing keypoints are filled, as in mmpose. The best
        ``decode_max_instances`` instances are kept, sorted by instance
        score, highest first. With ``refine``, each instance's missing
        keypoint k is filled at the pixel minimising
        ``round(||tag_k - instance tag||) * 100 - heatmap_k``, scored with
        the heatmap value there. With ``adjust``, every keypoint, filled
        ones included, is refined to sub-pixel accuracy; then
        ``decode_center_shift`` is added and coordinates are scaled to the
        input space.

        Note:

            - batch size: B
            - instance number: N (per image)
            - keypoint number: K
            - embedding tag dimension: L
            - heatmap size: [W, H]

        Args:
            batch_heatmaps (Tensor): Heatmaps in shape (B, K, H, W)
            batch_tags (Tensor): Tag maps in shape (B, K*L, H, W), where
                channel ``l*K + k`` holds tag dimension l of keypoint k

        Returns:
            tuple:
            - batch_keypoints (List[np.ndarray]): Keypoints in the input
                image space, each in shape (N, K, 2); a missing keypoint
                (only without ``refine``) is at (0, 0)
            - batch_keypoint_scores (List[np.ndarray]): Keypoint scores,
                each in shape (N, K); 0 for a missing keypoint
            - batch_instance_scores (List[np.ndarray]): Instance scores,
                each in shape (N, )
        """
        num_tag_dims = check_decode_inputs(
            batch_heatmaps, batch_tags, self.decode_keypoint_order
        )
        # Inference mode skips autograd's bookkeeping: on the many small
        # tensors of a decode, it saves about a tenth of the time.
        with torch.inference_mode():
            heatmaps = batch_heatmaps.detach().float()
            tags = batch_tags.detach().float()
            return self._decode(heatmaps, tags, num_tag_dims)

    def _decode(
        self, heatmaps: Tensor, tags: Tensor, num_tag_dims: int
    ) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
        B, K, H, W = heatmaps.shape
        order = self.decode_keypoint_order or list(range(K))
        cand_vals, cand_pixels, cand_tags = top_candidates(
            heatmaps,
            tags,
            num_tag_dims,
            self.decode_topk,
            self.decode_nms_kernel,
            self.decode_keypoint_thr,
            lower_peaks=self.refine,
        )

        image_groups = []
        for vals, pixels, cand_tag in zip(cand_vals, cand_pixels, cand_tags):
            members, group_tags = self._group_candidates(vals, cand_tag, order)
            found = members >= 0
            rows = np.arange(K)[None, :]
            safe_members = np.where(found, members, 0)
            scores = np.where(found, vals[rows, safe_members], 0)
            positions = np.where(found, pixels[rows, safe_members], -1)
            instance_scores = scores.sum(axis=1) / K
            keep = (-instance_scores).argsort(kind='stable')[
                : self.decode_max_instances
            ]
            image_groups.append(
                (
                    positions[keep],
                    scores[keep],
                    instance_scores[keep],
                    group_tags[keep],
                )
            )

        counts = [len(group[0]) for group in image_groups]
        positions = np.concatenate([group[0] for group in image_groups])
        scores = np.concatenate([group[1] for group in image_groups])
        batch_idx = np.repeat(np.arange(B), counts)

        if self.refine and positions.size:
            group_tags = np.concatenate([group[3] for group in image_groups])
            positions, scores = fill_missing_keypoints(
                heatmaps,
                tags,
                cand_pixels,
                batch_idx,
                positions,
                scores,
                group_tags,
            )

        keypoints = locate_keypoints(
            heatmaps,
            batch_idx,
            positions,
            adjust=self.adjust,
            dark_udp=self.use_udp,
            blur_kernel_size=self.decode_gaussian_kernel,
            center_shift=self.decode_center_shift,
        )
        keypoints = keypoints * self.scale_factor

        splits = np.cumsum(counts)[:-1]
        batch_keypoints = np.split(keypoints.astype(np.float32), splits)
        batch_scores = np.split(scores.astype(np.float32), splits)
        batch_instance_scores = [
            group[2].astype(np.float32) for group in image_groups
        ]
        return batch_keypoints, batch_scores, batch_instance_scores

    def _group_candidates(
        self, vals: np.ndarray, tags: np.ndarray, order: Sequence[int]
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Group the candidates of one image into instances by their tags.

        Note:

            - keypoint number: K
            - candidate number: T
            - embedding tag dimension: L
            - group number: G

        Args:
            vals (np.ndarray): Candidate values in shape (K, T)
            tags (np.ndarray): Candidate tags in shape (K, T, L)
            order (Sequence[int]): The grouping order of the keypoint types

        Returns:
            tuple:
            - members (np.ndarray): The candidate index of each group's
                keypoints in shape (G, K), -1 where the group has none
            - group_tags (np.ndarray): The mean tag of each group's members
                in shape (G, L)
        """
        K, T, L = tags.shape
        members = np.full((K * T, K), -1, dtype=np.int64)
        tags = tags.astype(np.float64)
        if L == 1:
            # (n, ) arrays: NumPy indexes them several times faster than
            # (n, 1) ones, and this loop is many small indexing calls.
            tags = tags[..., 0]
        tag_sums = np.zeros((K * T, *tags.shape[2:]))
        counts = np.zeros(K * T)
        # Candidates come sorted by value: those above the threshold are a
        # prefix.
        num_above = (vals > self.decode_keypoint_thr).sum(axis=1).tolist()
        num_groups = 0
        for k in order:
            num_cands = num_above[k]
            if num_cands == 0:
                continue
            cand_tags = tags[k, :num_cands]
            new_cands = slice(None)
            if num_groups:
                sums, group_counts = tag_sums[:num_groups], counts[:num_groups]
                if L == 1:
                    dists = np.abs(cand_tags[:, None] - sums / group_counts)
                else:
                    means = sums / group_counts[:, None]
                    dists = np.sqrt(
                        np.square(cand_tags[:, None] - means).sum(axis=-1)
                    )
                costs = np.rint(dists) * 100 - vals[k, :num_cands, None]
                rows, cols = linear_sum_assignment(costs)
                accepted = dists[rows, cols] < self.decode_tag_thr
                rows, cols = rows[accepted], cols[accepted]
                members[cols, k] = rows
                tag_sums[cols] += cand_tags[rows]
                counts[cols] += 1
                if len(rows) == num_cands:
                    continue
                unmatched = np.ones(num_cands, dtype=bool)
                unmatched[rows] = False
                new_cands = np.flatnonzero(unmatched)
                cand_tags = cand_tags[new_cands]
            added = len(cand_tags)
            new_groups = slice(num_groups, num_groups + added)
            members[new_groups, k] = np.arange(num_cands)[new_cands]
            tag_sums[new_groups] = cand_tags
            counts[new_groups] = 1
            num_groups += added
        group_tags = tag_sums[:num_groups].reshape(num_groups, L)
        return members[:num_groups], group_tags / counts[:num_groups, None]
