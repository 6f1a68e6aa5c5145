"""mmpose's PackPoseInputs in place of PackBottomupPoseInputs: the
BottomupGrouping codec's mapping tables (which mmpose's GenerateTarget hands
to the packing) declare every field the head reads, so training is the same;
a pipeline without BottomupCrowdMask makes the head warn, not train
unmasked in silence."""

import warnings

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

from aeplugin.models.heads import AssociativeEmbeddingHead

from .utils import affine_pipeline, coco_test_dataset, codec_cfg

K = 17


def _packed_samples(pack, crowd_mask=True):
    """The 4 images of tests/data/coco through the training pipeline, with
    the same random affines and flips whatever the packing."""
    pipeline = affine_pipeline() + [
        dict(type='BottomupRandomFlip', prob=0.5),
        dict(type='GenerateTarget', encoder=codec_cfg()),
    ]
    if crowd_mask:
        pipeline.append(dict(type='BottomupCrowdMask'))
    pipeline.append(dict(type=pack))
    with DefaultScope.overwrite_default_scope('aeplugin'):
        dataset = coco_test_dataset(pipeline)
        np.random.seed(0)
        return [dataset[i]['data_samples'] for i in range(len(dataset))]


def _loss(samples):
    head = AssociativeEmbeddingHead(
        in_channels=2 * K, num_keypoints=K, final_layer=None
    )
    g = torch.Generator().manual_seed(0)
    feats = (torch.randn(len(samples), 2 * K, 128, 128, generator=g),)
    return head.loss(feats, samples)


@pytest.fixture(scope='module')
def ours():
    return _packed_samples('PackBottomupPoseInputs')


def test_mmposes_packing_packs_what_the_head_reads(ours):
    theirs = _packed_samples('mmpose.PackPoseInputs')
    fields = dict(
        gt_fields=['heatmaps', 'heatmap_mask'],
        gt_instance_labels=['keypoint_indices', 'keypoint_weights'],
        gt_instances=['bboxes', 'bbox_scores', 'keypoints'],
    )
    for mine, mmpose in zip(ours, theirs):
        for group, keys in fields.items():
            for key in keys:
                np.testing.assert_array_equal(
                    np.asarray(getattr(getattr(mmpose, group), key)),
                    np.asarray(getattr(getattr(mine, group), key)),
                    err_msg=f'{group}.{key}',
                )
    # the mask takes out the padding and the people without keypoints
    assert all(s.gt_fields.heatmap_mask.min() == 0 for s in theirs)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        losses, expected = _loss(theirs), _loss(ours)
    for key, value in expected.items():
        torch.testing.assert_close(losses[key], value, rtol=0, atol=0)


def test_without_the_crowd_mask_the_head_warns_naming_it(ours):
    unmasked = _packed_samples('mmpose.PackPoseInputs', crowd_mask=False)
    assert all('heatmap_mask' not in s.gt_fields for s in unmasked)
    with pytest.warns(UserWarning, match='4 of 4 data samples') as record:
        losses = _loss(unmasked)
    assert len(record) == 1
    assert 'add BottomupCrowdMask after GenerateTarget' in str(
        record[0].message
    )
    # the same targets, but padding and crowds now count as background
    assert losses['loss_kpt'] != _loss(ours)['loss_kpt']
    torch.testing.assert_close(losses['loss_pull'], _loss(ours)['loss_pull'])
