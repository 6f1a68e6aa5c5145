import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmpose.models.data_preprocessors import PoseDataPreprocessor
from mmpose.structures import PoseDataSample

from aeplugin.models.data_preprocessors import MultiScalePoseDataPreprocessor

NORM = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
)
SIZES = [(64, 96), (32, 48), (128, 192)]


def _samples(num=2, sizes=SIZES, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [
        dict(
            inputs=[
                torch.randint(0, 256, (3, *size), generator=g).byte()
                for size in sizes
            ],
            data_samples=PoseDataSample(metainfo=dict(img_shape=sizes[0])),
        )
        for _ in range(num)
    ]


def test_each_scale_is_processed_as_pose_data_preprocessor_does():
    ours = MultiScalePoseDataPreprocessor(**NORM)
    theirs = PoseDataPreprocessor(**NORM)
    samples = _samples()
    out = ours(pseudo_collate(samples))
    assert len(out['inputs']) == len(SIZES)
    for scale, (h, w) in enumerate(SIZES):
        one_scale = [
            dict(inputs=s['inputs'][scale], data_samples=s['data_samples'])
            for s in samples
        ]
        expected = theirs(pseudo_collate(one_scale))['inputs']
        assert out['inputs'][scale].shape == (2, 3, h, w)
        torch.testing.assert_close(out['inputs'][scale], expected)
    # metainfo of the first (scale 1) input
    for sample in out['data_samples']:
        assert sample.metainfo['batch_input_shape'] == SIZES[0]
        assert sample.metainfo['pad_shape'] == SIZES[0]


def test_single_scale_is_pose_data_preprocessor():
    single = [
        dict(inputs=s['inputs'][0], data_samples=s['data_samples'])
        for s in _samples()
    ]
    out = MultiScalePoseDataPreprocessor(**NORM)(pseudo_collate(single))
    expected = PoseDataPreprocessor(**NORM)(pseudo_collate(single))
    torch.testing.assert_close(out['inputs'], expected['inputs'])


def test_uneven_pyramids_are_an_error():
    data = pseudo_collate(_samples())
    data['inputs'][1] = data['inputs'][1][:1]
    with pytest.raises(ValueError, match=r'same number.*\[2, 1, 2\]'):
        MultiScalePoseDataPreprocessor(**NORM)(data)
