import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

from aeplugin.codecs import BottomupGrouping, HigherBottomupGrouping
from aeplugin.datasets.transforms import (
    BottomupCrowdMask,
    PackHigherBottomupPoseInputs,
)

KEYPOINTS = np.array([[[10.0, 12.0], [30.0, 41.0], [70.0, 5.0]]])
VISIBLE = np.array([[1.0, 1.0, 1.0]])


def _codec(**kwargs):
    return HigherBottomupGrouping(
        input_size=(64, 64), heatmap_size=(16, 16), sigma=2, **kwargs
    )


def test_encodes_each_size_as_the_one_size_codec_does():
    encoded = _codec().encode(KEYPOINTS, VISIBLE)
    for key, size in (('heatmaps', 16), ('heatmaps_2x', 32)):
        single = BottomupGrouping(
            input_size=(64, 64), heatmap_size=(size, size), sigma=2
        ).encode(KEYPOINTS, VISIBLE)
        np.testing.assert_array_equal(encoded[key], single['heatmaps'])
    assert encoded['heatmaps_2x'].shape == (3, 32, 32)
    # tags at 1/4: (10, 12) / 4 -> (2.5, 3) -> (3, 3) -> 3 * 16 + 3;
    # (30, 41) / 4 -> (7.5, 10.25) -> (8, 10); the third is off the map
    assert encoded['keypoint_indices'].tolist() == [
        [[51, 1], [10 * 16 + 8, 1], [1 * 16 + 18, 0]]
    ]
    # the third's 3-sigma window (6 pixels) still reaches the 1/4 map
    assert encoded['keypoint_weights'].tolist() == [[1.0, 1.0, 1.0]]
    # the Gaussian peak of the 1/2 map: (30, 41) / 2 -> (15, 20.5) -> 21
    assert np.unravel_index(encoded['heatmaps_2x'][1].argmax(), (32, 32)) == (
        21,
        15,
    )


def test_decodes_maps_of_the_higher_size_into_input_pixels():
    codec = _codec(refine=False, adjust=False)
    heatmaps = torch.zeros(1, 3, 32, 32)
    heatmaps[0, :, 20, 15] = 1.0  # one person, every keypoint at (15, 20)
    tags = torch.zeros(1, 3, 32, 32)
    keypoints, scores, _ = codec.batch_decode(heatmaps, tags)
    # 1/2 pixel (15, 20) is input pixel (30, 40)
    np.testing.assert_array_equal(keypoints[0], [[[30.0, 40.0]] * 3])
    np.testing.assert_array_equal(scores[0], [[1.0] * 3])
    # a decoder of maps resized to the input scales by 1
    restored = _codec(higher_heatmap_size=(64, 64), refine=False, adjust=False)
    np.testing.assert_array_equal(restored.scale_factor, [1.0, 1.0])


def test_refuses_udp_and_bad_sizes():
    with pytest.raises(ValueError, match='use_udp=False'):
        _codec(use_udp=True)
    with pytest.raises(ValueError, match='higher_heatmap_size'):
        _codec(higher_heatmap_size=(0, 32))


def test_generate_target_mask_and_pack_put_each_size_in_its_fields():
    from mmpose.datasets.transforms import GenerateTarget

    results = dict(
        img=np.zeros((64, 64, 3), dtype=np.uint8),
        keypoints=KEYPOINTS,
        keypoints_visible=VISIBLE,
        ori_shape=(64, 64),
        input_size=(64, 64),
        warp_mat=np.eye(3)[:2],
        invalid_segs=[[[0.0, 0.0, 31.0, 0.0, 31.0, 63.0, 0.0, 63.0]]],
    )
    with DefaultScope.overwrite_default_scope('aeplugin'):
        results = GenerateTarget(
            encoder=dict(
                type='HigherBottomupGrouping',
                input_size=(64, 64),
                heatmap_size=(16, 16),
                sigma=2,
            )
        )(results)
        results = BottomupCrowdMask(heatmap_keys=('heatmaps', 'heatmaps_2x'))(
            results
        )
        sample = PackHigherBottomupPoseInputs()(results)['data_samples']
    assert sample.gt_fields.heatmaps.shape == (3, 16, 16)
    assert sample.gt_fields_2x.heatmaps.shape == (3, 32, 32)
    np.testing.assert_array_equal(
        sample.gt_fields_2x.heatmaps.numpy(), results['heatmaps_2x']
    )
    # the left half of the image (x < 31.5) is a crowd: heatmap pixel j lies
    # at input pixel j * stride, so 1/4 columns 0-7 and 1/2 columns 0-15
    # are masked
    for fields, size in ((sample.gt_fields, 16), (sample.gt_fields_2x, 32)):
        mask = fields.heatmap_mask
        assert mask.shape == (1, size, size)
        expected = torch.zeros(size, size)
        expected[:, size // 2 :] = 1
        assert torch.equal(mask[0], expected)
    assert sample.gt_instance_labels.keypoint_indices.shape == (1, 3, 2)


def test_pack_refuses_targets_of_a_one_size_codec():
    results = dict(
        img=np.zeros((8, 8, 3), dtype=np.uint8),
        heatmaps=np.zeros((3, 2, 2), dtype=np.float32),
    )
    with pytest.raises(ValueError, match='no `heatmaps_2x`'):
        PackHigherBottomupPoseInputs()(results)
