"""Collate bottom-up training samples into batch tensors."""

from typing import List, Sequence

import torch
from mmengine.dataset import pseudo_collate

from aeplugin.registry import FUNCTIONS


@FUNCTIONS.register_module()
def bottomup_collate(data_batch: Sequence[dict]) -> dict:
    """Stack the images and the AE targets of a batch into a few tensors.

    mmengine's ``pseudo_collate`` keeps one ``PoseDataSample`` per image,
    and the data preprocessor then moves every target field of every sample
    to the device on its own, with a blocking copy from pageable memory
    (5 per image: 160 per step of 32 images). Here the
    batch becomes four tensors, which the data loader can pin
    (``pin_memory=True``) and :class:`BottomupDataPreprocessor` moves with
    non-blocking copies; the head and ``AELoss`` read them directly. The
    people of each image are padded to the most crowded image of the batch
    with unlabelled keypoints, which the loss ignores.

    Used as the training loader's ``collate_fn=dict(
    type='aeplugin.bottomup_collate')`` (the scope is needed: mmengine looks
    collate functions up in its own registry). The samples come from
    ``GenerateTarget`` and :class:`PackBottomupPoseInputs`; positions are
    checked here, on the host, so the loss needs no check on the device.

    Note:
        - batch size: B
        - instance number: N (the most in an image of the batch)
        - keypoint number: K
        - heatmap size: [W, H]
        - input size: [w, h]

    Args:
        data_batch (Sequence[dict]): Packed samples, each with ``inputs``
            (3, h, w) and ``data_samples`` holding ``gt_fields.heatmaps``
            (K, H, W), optionally ``gt_fields.heatmap_mask`` ((1,) H, W),
            and ``gt_instance_labels.keypoint_indices`` (N_i, K, 2)

    Returns:
        dict:
        - inputs (Tensor): (B, 3, h, w), or B tensors (3, h_i, w_i) when
          the images differ in size
        - data_samples (dict): ``heatmaps`` (B, K, H, W) float32,
          ``heatmap_mask`` (B, 1, H, W) float32 (when every sample has
          one), ``heatmaps_2x`` (B, K, H2, W2) and ``heatmap_mask_2x``
          (B, 1, H2, W2) from ``gt_fields_2x`` when every sample has it
          (HigherHRNet's), ``keypoint_indices`` (B, N, K, 2) int64 (``[y*W + x,
          visible]``; padded people all unlabelled) and ``metainfo``, the
          B samples' metainfo dicts
    """
    if not data_batch:
        raise ValueError('bottomup_collate got an empty batch')
    collated = pseudo_collate(data_batch)
    images: List[torch.Tensor] = collated['inputs']
    samples = collated['data_samples']
    paths = [
        s.metainfo.get('img_path', f'sample {i}')
        for i, s in enumerate(samples)
    ]

    heatmaps = [s.gt_fields.get('heatmaps') for s in samples]
    indices = [
        s.get('gt_instance_labels', {}).get('keypoint_indices')
        for s in samples
    ]
    for path, maps, idx in zip(paths, heatmaps, indices):
        if maps is None or idx is None:
            raise ValueError(
                f'{path}: a training sample needs gt_fields.heatmaps and '
                'gt_instance_labels.keypoint_indices (GenerateTarget with '
                'BottomupGrouping, then PackBottomupPoseInputs)'
            )
    shapes = {tuple(maps.shape) for maps in heatmaps}
    if len(shapes) != 1:
        raise ValueError(
            f'the heatmaps of a batch differ in shape: {sorted(shapes)}'
        )
    K, H, W = shapes.pop()
    batch = dict(heatmaps=torch.stack(heatmaps))

    masks = [s.gt_fields.get('heatmap_mask') for s in samples]
    if all(mask is not None for mask in masks):
        batch['heatmap_mask'] = torch.stack(
            [torch.as_tensor(mask).reshape(1, H, W) for mask in masks]
        ).float()

    # HigherHRNet's maps at twice the size (PackHigherBottomupPoseInputs),
    # stacked under their names + '_2x' when every sample has them
    higher = [s.get('gt_fields_2x') for s in samples]
    if all(fields is not None for fields in higher):
        for key in higher[0].keys():
            maps = [fields.get(key) for fields in higher]
            if all(m is not None for m in maps):
                batch[f'{key}_2x'] = torch.stack(
                    [torch.as_tensor(m).float() for m in maps]
                )

    num_people = max(len(idx) for idx in indices)
    padded = torch.zeros(len(samples), num_people, K, 2, dtype=torch.int64)
    for i, (path, idx) in enumerate(zip(paths, indices)):
        idx = torch.as_tensor(idx, dtype=torch.int64)
        if idx.ndim != 3 or idx.shape[1:] != (K, 2):
            raise ValueError(
                f'{path}: keypoint_indices must be (N, {K}, 2), got '
                f'{tuple(idx.shape)}'
            )
        visible = idx[..., 1] > 0
        outside = visible & ((idx[..., 0] < 0) | (idx[..., 0] >= H * W))
        if outside.any():
            person, keypoint = outside.nonzero()[0].tolist()
            raise ValueError(
                f'{path}: person {person} has a visible keypoint '
                f'{keypoint} at position {int(idx[person, keypoint, 0])}, '
                f'outside the {W}x{H} heatmap'
            )
        padded[i, : len(idx)] = idx
    batch['keypoint_indices'] = padded
    batch['metainfo'] = [s.metainfo for s in samples]

    sizes = {tuple(image.shape) for image in images}
    inputs = torch.stack(images) if len(sizes) == 1 else images
    return dict(inputs=inputs, data_samples=batch)
