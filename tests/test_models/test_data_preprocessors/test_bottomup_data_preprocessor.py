import pytest
import torch
from mmengine.dataset import pseudo_collate
from test_datasets.test_bottomup_collate import _sample

from aeplugin.datasets import bottomup_collate
from aeplugin.models import BottomupDataPreprocessor

NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])


def test_batched_targets_pass_through_and_inputs_equal_the_list_path():
    batch = [_sample(2, 0), _sample(1, 1)]
    preprocessor = BottomupDataPreprocessor(bgr_to_rgb=True, **NORM)
    batched = preprocessor(bottomup_collate(batch), training=True)
    listed = preprocessor(pseudo_collate(batch), training=True)
    assert torch.equal(batched['inputs'], listed['inputs'])
    expected = (batch[0]['inputs'].flip(0).float() - 123.675) / 58.395
    torch.testing.assert_close(batched['inputs'][0, 0], expected[0])
    targets = batched['data_samples']
    assert torch.equal(
        targets['heatmaps'][1], batch[1]['data_samples'].gt_fields.heatmaps
    )
    assert targets['keypoint_indices'].shape == (2, 2, 3, 2)
    # list samples get their batch metainfo as with PoseDataPreprocessor
    assert listed['data_samples'][0].batch_input_shape == (16, 20)


def test_channels_last_only_on_cuda():
    preprocessor = BottomupDataPreprocessor(**NORM)
    out = preprocessor(pseudo_collate([_sample(1, 0)]))
    assert out['inputs'].is_contiguous()
    assert not out['inputs'].is_contiguous(memory_format=torch.channels_last)
    if torch.cuda.is_available():
        out = preprocessor.cuda()(pseudo_collate([_sample(1, 0)]))
        assert out['inputs'].is_contiguous(memory_format=torch.channels_last)


def test_batched_targets_move_by_name_and_hold_tensors_only():
    preprocessor = BottomupDataPreprocessor(**NORM)
    data = bottomup_collate([_sample(1, 0, tags_extra=torch.rand(2, 4, 5))])
    out = preprocessor(data, training=True)['data_samples']
    assert set(out) == set(data['data_samples'])
    assert torch.equal(out['tags_extra'], data['data_samples']['tags_extra'])
    data['data_samples']['metainfo'] = [dict(img_path='a.jpg')]
    with pytest.raises(TypeError, match="'metainfo' is a list"):
        preprocessor(data, training=True)
