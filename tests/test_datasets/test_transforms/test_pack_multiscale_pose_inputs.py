import numpy as np
import pytest
from mmengine.dataset import Compose

from aeplugin.datasets.transforms import (
    BottomupMultiScaleResize,
    PackMultiScalePoseInputs,
)

from ..utils import COCO_TEST_ROOT

IMAGE = str(COCO_TEST_ROOT / '000000000785.jpg')  # 640 x 425


def _load():
    return Compose([dict(type='LoadImage')])(dict(img_path=IMAGE))


def test_packs_one_tensor_per_scale():
    results = BottomupMultiScaleResize(
        input_size=(256, 256),
        scales=[1, 0.5],
        size_factor=64,
        resize_mode='expand',
    )(_load())
    packed = PackMultiScalePoseInputs(meta_keys=('img_shape',))(results)
    assert [tuple(x.shape) for x in packed['inputs']] == [
        (3, 256, 512),
        (3, 128, 256),
    ]
    np.testing.assert_array_equal(
        packed['inputs'][1].permute(1, 2, 0).numpy(), results['img'][1]
    )
    sample = packed['data_samples']
    assert sample.metainfo == dict(img_shape=(256, 512), aug_scales=[0.5])

    # one image packs as PackPoseInputs packs it
    single = PackMultiScalePoseInputs()(dict(_load(), img=results['img'][0]))
    assert tuple(single['inputs'].shape) == (3, 256, 512)
    assert 'aug_scales' in PackMultiScalePoseInputs().meta_keys


def test_empty_pyramid_is_an_error():
    with pytest.raises(ValueError, match='empty list'):
        PackMultiScalePoseInputs()(dict(img=[]))
