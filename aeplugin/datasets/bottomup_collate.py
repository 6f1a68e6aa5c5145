"""Collate bottom-up training samples into batch tensors."""

from typing import Dict, List, Sequence

import torch
from torch.utils.data import default_collate

from aeplugin.registry import FUNCTIONS


@FUNCTIONS.register_module()
def bottomup_collate(data_batch: Sequence[dict]) -> dict:
    """Stack the images and the AE targets of a batch into a few tensors.

    mmengine's ``pseudo_collate`` keeps one ``PoseDataSample`` per image,
    with its metainfo (mmpose's packing keeps the raw annotations: polygons,
    crowd run-length counts), and every step the pin-memory thread and the
    data preprocessor walk these structures and move every target field of
    every sample on its own. Here the batch becomes a few tensors and
    nothing else: the data loader pins them (``pin_memory=True``),
    :class:`BottomupDataPreprocessor` moves each with one non-blocking copy,
    and the head and ``AELoss`` read them directly. In a loader's worker the
    images and maps are stacked straight into shared memory (torch's
    ``default_collate``), so handing them to the main process copies
    nothing more. No metainfo is kept: the loss and the training hooks read
    none, and the checks that need an image's file run here. The people of
    each image are padded to the most crowded image of the batch with
    unlabelled keypoints, which the loss ignores.

    Every target map of ``gt_fields`` is stacked under its own name
    (``heatmaps`` and ``heatmap_mask`` from ``BottomupGrouping`` and
    :class:`BottomupCrowdMask`; a codec may add others, at other sizes);
    every sample of a batch must carry the same maps, each name at one
    shape. The keypoint indices address the ``heatmaps`` grid.

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
        - channels of a target map: C (K for ``heatmaps``, 1 for
          ``heatmap_mask``), its size [W_m, H_m]

    Args:
        data_batch (Sequence[dict]): Packed samples, each with ``inputs``
            (3, h, w) and ``data_samples`` holding ``gt_fields.heatmaps``
            (K, H, W), optionally other maps such as
            ``gt_fields.heatmap_mask`` (1, H, W), and
            ``gt_instance_labels.keypoint_indices`` (N_i, K, 2); the
            metainfo's ``img_path`` (if any) names the sample in errors

    Returns:
        dict:
        - inputs (Tensor): (B, 3, h, w), or B tensors (3, h_i, w_i) when
          the images differ in size
        - data_samples (dict): ``heatmaps`` (B, K, H, W) float32, every
          other map of ``gt_fields`` by its name (B, C, H_m, W_m) float32
          (``heatmap_mask`` (B, 1, H, W)), every map of ``gt_fields_2x``
          (HigherHRNet's twice-as-large maps, which one ``PixelData``
          cannot hold next to the others) by its name + ``_2x``, and
          ``keypoint_indices``
          (B, N, K, 2) int64 (``[y*W + x, visible]``; padded people all
          unlabelled)
    """
    if not data_batch:
        raise ValueError('bottomup_collate got an empty batch')
    images: List[torch.Tensor] = [item['inputs'] for item in data_batch]
    samples = [item['data_samples'] for item in data_batch]
    paths = [
        s.metainfo.get('img_path', f'sample {i}')
        for i, s in enumerate(samples)
    ]

    maps = [
        dict(s.gt_fields.items()) if 'gt_fields' in s else {} for s in samples
    ]
    indices = [
        s.get('gt_instance_labels', {}).get('keypoint_indices')
        for s in samples
    ]
    for path, fields, idx in zip(paths, maps, indices):
        if 'heatmaps' not in fields or idx is None:
            raise ValueError(
                f'{path}: a training sample needs gt_fields.heatmaps and '
                'gt_instance_labels.keypoint_indices (GenerateTarget with '
                'BottomupGrouping, then PackBottomupPoseInputs)'
            )
    batch = _stack_maps(maps, paths)
    K, H, W = batch['heatmaps'].shape[1:]

    # HigherHRNet's maps at twice the size (PackHigherBottomupPoseInputs)
    higher = [
        dict(s.gt_fields_2x.items()) if 'gt_fields_2x' in s else {}
        for s in samples
    ]
    if any(higher):
        batch.update(
            (f'{name}_2x', maps)
            for name, maps in _stack_maps(
                higher, paths, 'gt_fields_2x'
            ).items()
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

    sizes = {tuple(image.shape) for image in images}
    inputs = default_collate(images) if len(sizes) == 1 else images
    return dict(inputs=inputs, data_samples=batch)


def _stack_maps(
    maps: Sequence[Dict[str, torch.Tensor]],
    paths: Sequence[str],
    field: str = 'gt_fields',
) -> Dict[str, torch.Tensor]:
    """Stack each named target map of the samples into (B, C, H_m, W_m)
    float32, checking that every sample has the same names and each name
    one shape (C, H_m, W_m)."""
    names = list(maps[0])
    for path, fields in zip(paths, maps):
        if set(fields) != set(names):
            raise ValueError(
                f'{path}: {field} holds {sorted(fields)} but {paths[0]} '
                f'holds {sorted(names)}: every sample of a batch needs the '
                'same target maps (the same pipeline)'
            )
    stacked = {}
    for name in names:
        shapes = {}
        for path, fields in zip(paths, maps):
            shape = tuple(fields[name].shape)
            if len(shape) != 3:
                raise ValueError(
                    f'{path}: {field}.{name} must be (C, H, W), got {shape}'
                )
            shapes.setdefault(shape, path)
        if len(shapes) != 1:
            raise ValueError(
                f'the {field}.{name} maps of a batch differ in shape: '
                + ', '.join(f'{s} ({p})' for s, p in sorted(shapes.items()))
            )
        stacked[name] = default_collate(
            [torch.as_tensor(fields[name]) for fields in maps]
        ).to(torch.float32)
    return stacked
