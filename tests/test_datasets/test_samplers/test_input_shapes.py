"""InputShapes predicts, from the image sizes alone, the input shapes the
test pipeline makes of the shipped images."""

import numpy as np
import pytest
from mmengine.dataset import Compose
from PIL import Image

from aeplugin.datasets.samplers import InputShapes

from ..utils import coco_mini_dataset, coco_test_dataset

PACK = dict(type='PackPoseInputs')
RESIZES = {
    # the paper configs' val resize
    'expand 512': dict(
        type='BottomupResize',
        input_size=(512, 512),
        size_factor=64,
        resize_mode='expand',
    ),
    # the main job's
    'fit 384x256': dict(
        type='BottomupResize',
        input_size=(384, 256),
        size_factor=64,
        resize_mode='fit',
    ),
    'expand udp': dict(
        type='BottomupResize',
        input_size=(256, 256),
        size_factor=32,
        resize_mode='expand',
        use_udp=True,
    ),
    # multi-scale test, ours and mmpose's
    'pyramid expand': dict(
        type='BottomupMultiScaleResize',
        input_size=(256, 256),
        scales=[2, 1, 0.5],
        size_factor=64,
        resize_mode='expand',
    ),
    'mmpose aug_scales': dict(
        type='BottomupResize',
        input_size=(256, 256),
        aug_scales=[0.5],
        size_factor=32,
        resize_mode='expand',
    ),
}


def pipeline_of(name: str) -> list:
    """Load, the resize ``RESIZES[name]``, and the packing it needs."""
    resize = RESIZES[name]
    pack = PACK
    if resize['type'] == 'BottomupMultiScaleResize' or 'aug_scales' in resize:
        pack = dict(type='PackMultiScalePoseInputs')
    return [dict(type='LoadImage'), resize, pack]


def _actual_shapes(sample):
    inputs = sample['inputs']
    inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    return tuple(tuple(x.shape[-2:]) for x in inputs)


@pytest.mark.parametrize('name', sorted(RESIZES))
def test_predicted_shapes_are_the_pipeline_outputs(name):
    pipeline = pipeline_of(name)
    shapes = {}
    for dataset in (coco_test_dataset(pipeline), coco_mini_dataset(pipeline)):
        predict = InputShapes(dataset.pipeline.transforms)
        for i in range(len(dataset)):
            key = predict(dataset.get_data_info(i))
            assert key == _actual_shapes(dataset[i]), (name, i)
            shapes.setdefault(key, 0)
            shapes[key] += 1
    if name.startswith('fit'):
        assert len(shapes) == 1
    else:
        # portrait, landscape and wider images get different shapes
        assert len(shapes) >= 3


def test_without_a_resize_the_key_is_the_image_size():
    dataset = coco_test_dataset([dict(type='LoadImage'), PACK])
    predict = InputShapes(dataset.pipeline.transforms)
    for i in range(len(dataset)):
        assert predict(dataset.get_data_info(i)) == _actual_shapes(dataset[i])


@pytest.mark.parametrize(
    'color_type, turned',
    [
        ('color', True),
        ('grayscale', True),
        ('color_ignore_orientation', False),
    ],
)
def test_exif_orientation_is_applied_as_the_loader_applies_it(
    tmp_path, color_type, turned
):
    path = tmp_path / 'turned.jpg'
    image = Image.fromarray(np.zeros((40, 100, 3), np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # rotated 90 degrees: shown 40 wide, 100 high
    image.save(path, exif=exif)
    load = dict(type='LoadImage', color_type=color_type)
    pipeline = Compose([load])
    loaded = pipeline(dict(img_path=str(path)))
    predict = InputShapes(pipeline.transforms)
    size = predict.image_size(dict(img_path=str(path)))
    assert size == loaded['img'].shape[:2]
    assert size == ((100, 40) if turned else (40, 100))


def test_an_image_array_gives_its_own_size():
    predict = InputShapes(Compose([dict(type='LoadImage')]).transforms)
    info = dict(img=np.zeros((30, 50, 3), np.uint8))
    assert predict(info) == ((30, 50),)
    with pytest.raises(ValueError, match='img_path'):
        predict(dict(img_id=1))


def test_a_dataset_without_a_pipeline_has_none():
    assert InputShapes.of_dataset(list(range(3))) is None
