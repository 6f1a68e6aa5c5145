import numpy as np
import pytest
from mmengine.dataset import Compose

from aeplugin.datasets.transforms import BottomupMultiScaleResize

from ..utils import COCO_TEST_ROOT

IMAGE = str(COCO_TEST_ROOT / '000000000785.jpg')  # 640 x 425


def _load(path=IMAGE):
    return Compose([dict(type='LoadImage')])(dict(img_path=path))


def _dot_image(w=640, h=425, at=(500, 300)):
    """A black image with a white 9x9 square centred on ``at``."""
    img = np.zeros((h, w, 3), np.uint8)
    x, y = at
    img[y - 4 : y + 5, x - 4 : x + 5] = 255
    return dict(img=img, ori_shape=(h, w))


def _centroid(img):
    weights = img[..., 0].astype(np.float64)
    ys, xs = np.indices(weights.shape)
    return np.array([(xs * weights).sum(), (ys * weights).sum()]) / (
        weights.sum()
    )


@pytest.mark.parametrize('resize_mode', ['expand', 'fit'])
def test_scale_1_is_bottomup_resize_exactly(resize_mode):
    kwargs = dict(
        input_size=(512, 512), size_factor=64, resize_mode=resize_mode
    )
    theirs = Compose([dict(type='BottomupResize', **kwargs)])(_load())
    ours = BottomupMultiScaleResize(scales=[1.0], **kwargs)(_load())
    assert len(ours['img']) == 1
    np.testing.assert_array_equal(ours['img'][0], theirs['img'])
    for key in ('img_shape', 'input_size', 'input_center', 'input_scale'):
        np.testing.assert_array_equal(ours[key], theirs[key], key)
    assert ours['aug_scales'] == []


def test_official_scales_give_exact_multiples_of_one_region():
    results = BottomupMultiScaleResize(
        input_size=(512, 512),
        scales=[2, 1, 0.5],
        size_factor=64,
        resize_mode='expand',
    )(_load())
    # the smallest scale as BottomupResize sizes it at 256: the short side
    # 256, the long side 256 * 640 / 425 = 385.5 padded to 448
    assert [img.shape[:2] for img in results['img']] == [
        (512, 896),
        (1024, 1792),
        (256, 448),
    ]
    assert results['aug_scales'] == [2.0, 0.5]
    assert results['img_shape'] == (512, 896)
    assert results['input_size'] == (896, 512)
    np.testing.assert_allclose(results['input_center'], [320, 212.5])
    np.testing.assert_allclose(
        results['input_scale'], [640 * 448 / (256 * 640 / 425), 425]
    )


@pytest.mark.parametrize('scales', [[2, 1, 0.5], [1, 0.75, 1.5]])
def test_every_scale_shows_a_point_where_scale_1_does(scales):
    """Pixel x of the scale-1 input is pixel x * w_s / w_1 of scale s (the
    head's resampling convention), also when rounding up stretches an
    input (0.75 and 1.5 of a 704 px input are not multiples of 64)."""
    transform = BottomupMultiScaleResize(
        input_size=(512, 512),
        scales=scales,
        size_factor=64,
        resize_mode='expand',
    )
    results = transform(_dot_image())
    reference, *others = results['img']
    ref_h, ref_w = reference.shape[:2]
    # where the dot (image pixel 500, 300) must be in the scale-1 input
    factor = np.array([ref_w, ref_h]) / results['input_scale']
    expected = (
        np.array([500, 300]) - results['input_center']
    ) * factor + np.array([ref_w, ref_h]) / 2
    np.testing.assert_allclose(_centroid(reference), expected, atol=0.05)
    for img in others:
        h, w = img.shape[:2]
        assert h % 64 == 0 and w % 64 == 0
        in_reference = _centroid(img) * np.array([ref_w / w, ref_h / h])
        np.testing.assert_allclose(in_reference, expected, atol=0.1)


def test_mmpose_aug_scales_are_not_aligned():
    """Why the transform exists: mmpose's pyramid puts the dot elsewhere."""
    results = Compose(
        [
            dict(
                type='BottomupResize',
                input_size=(512, 512),
                aug_scales=[0.5],
                size_factor=64,
                resize_mode='expand',
            )
        ]
    )(_dot_image())
    reference, half = results['img']
    scale = np.array(reference.shape[1::-1]) / np.array(half.shape[1::-1])
    offset = _centroid(half) * scale - _centroid(reference)
    # scale 1: 832 px for 640 * 832 / 771 = 690.6 image px; scale 0.5: 448
    # px for 640 * 448 / 385.5 = 743.8; the dot is 180 px right of the
    # centre: 180 * 832 * (1 / 743.8 - 1 / 690.6) = -15.5 px
    np.testing.assert_allclose(offset[0], -15.5, atol=0.2)


def test_clear_errors():
    kwargs = dict(input_size=(256, 256))
    with pytest.raises(ValueError, match='must include 1.0'):
        BottomupMultiScaleResize(scales=[2, 0.5], **kwargs)
    with pytest.raises(ValueError, match='duplicates'):
        BottomupMultiScaleResize(scales=[1, 1.0], **kwargs)
    with pytest.raises(ValueError, match='positive'):
        BottomupMultiScaleResize(scales=[1, -0.5], **kwargs)
    with pytest.raises(TypeError, match='sequence'):
        BottomupMultiScaleResize(scales=1.0, **kwargs)
