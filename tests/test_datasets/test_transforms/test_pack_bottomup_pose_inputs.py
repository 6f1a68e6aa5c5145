import copy

import numpy as np
import pytest
import torch

from aeplugin.registry import TRANSFORMS

from ..utils import coco_test_dataset, index_of

CODECS = ['BottomupGrouping', 'mmpose.AssociativeEmbedding']


def _targets(codec_type):
    """Targets of a real image with five people (one without keypoints)."""
    pipeline = [
        dict(type='LoadImage'),
        dict(
            type='BottomupRandomAffine',
            input_size=(512, 512),
            distribution='uniform',
            clip_border=True,
        ),
        dict(type='BottomupRandomFlip', prob=0.5),
        dict(
            type='GenerateTarget',
            encoder=dict(
                type=codec_type,
                input_size=(512, 512),
                heatmap_size=(128, 128),
                sigma=2,
            ),
        ),
        dict(type='BottomupCrowdMask'),
    ]
    dataset = coco_test_dataset(pipeline)
    np.random.seed(0)
    return dataset[index_of(dataset, 196141)]


@pytest.mark.parametrize('codec_type', CODECS)
def test_packs_grouping_labels_and_mask(codec_type):
    results = _targets(codec_type)
    packed = TRANSFORMS.build(dict(type='PackBottomupPoseInputs'))(
        copy.deepcopy(results)
    )
    sample = packed['data_samples']
    assert packed['inputs'].shape == (3, 512, 512)

    labels = sample.gt_instance_labels
    assert labels.keypoint_indices.dtype == torch.int64
    np.testing.assert_array_equal(
        labels.keypoint_indices.numpy(), results['keypoint_indices']
    )
    assert labels.keypoint_indices.shape == (5, 17, 2)
    np.testing.assert_array_equal(
        labels.keypoint_weights.numpy(), results['keypoint_weights']
    )

    fields = sample.gt_fields
    np.testing.assert_array_equal(fields.heatmaps.numpy(), results['heatmaps'])
    np.testing.assert_array_equal(
        fields.heatmap_mask.numpy(), results['heatmap_mask']
    )
    assert fields.heatmap_mask.shape == (1, 128, 128)
    assert 0 < fields.heatmap_mask.sum() < 128 * 128  # a person is masked

    assert sample.gt_instances.keypoints.shape == (5, 17, 2)
    assert sample.metainfo['flip'] == results['flip']
    assert sample.metainfo['input_size'] == (512, 512)


def test_mmpose_pack_loses_the_indices_of_mmpose_codec():
    """Why the plugin packs with its own transform: mmpose's PackPoseInputs
    drops the grouping indices next to mmpose's codec, which declares no
    label table (ours declares every field the head reads, so mmpose's
    packing keeps them next to it: tests/test_codecs)."""
    results = _targets('mmpose.AssociativeEmbedding')
    sample = TRANSFORMS.build(dict(type='mmpose.PackPoseInputs'))(results)[
        'data_samples'
    ]
    packed = set(sample.gt_fields.keys()) | set(
        sample.gt_instance_labels.keys()
    )
    assert 'keypoint_indices' not in packed
    assert {'heatmaps', 'heatmap_mask'} <= packed
    assert 'heatmaps' in packed
