"""The input shape the test pipeline gives an image, without loading it."""

import os.path as osp
from io import BytesIO
from typing import Dict, Hashable, Optional, Sequence, Tuple

import numpy as np
from mmengine import fileio
from mmpose.datasets.transforms import BottomupResize
from PIL import Image

# EXIF orientations 5-8 turn the image a quarter: width and height swap
_QUARTER_TURNS = (5, 6, 7, 8)
_EXIF_ORIENTATION = 0x0112
# the mmcv flags under which cv2 and Pillow apply the EXIF orientation
_ORIENTED_FLAGS = ('color', 'grayscale')


class InputShapes:
    """Predict the input shape(s) a test pipeline makes of an image from the
    image's size, without decoding its pixels.

    The size is read from the image file's header (turned as the loader
    turns it by its EXIF orientation), or from the data info's ``img``
    array. The shape is what the pipeline's resize steps (mmpose's
    ``BottomupResize`` and its subclasses, such as
    :class:`BottomupMultiScaleResize`) make of that size: they are run on a
    1x1 dummy image carrying the size as ``ori_shape``, so the shape comes
    from their own code (``input_size``, ``size_factor``, ``resize_mode``,
    scales), once per distinct image size. Without a resize step the key is
    the image size itself (any deterministic pipeline gives images of one
    size one shape). Steps other than the loader and the resize must keep
    the size, as those of the bottom-up test pipelines do.

    Args:
        transforms (Sequence): The pipeline's transforms (a built
            ``Compose``'s ``transforms``)
    """

    def __init__(self, transforms: Sequence):
        self.resizes = [t for t in transforms if isinstance(t, BottomupResize)]
        loaders = [t for t in transforms if hasattr(t, 'color_type')]
        self.oriented = not loaders or loaders[0].color_type in _ORIENTED_FLAGS
        self.backend_args = (
            getattr(loaders[0], 'backend_args', None) if loaders else None
        )
        self._by_size: Dict[Tuple[int, int], Hashable] = {}

    def __call__(self, data_info: dict) -> Hashable:
        """The input shape(s) of an image, a hashable key: a tuple of (h, w)
        per input the resize steps make (one per scale of a pyramid), or
        the image's (h, w) without a resize step.

        Args:
            data_info (dict): A dataset's data info with ``img_path`` (or an
                ``img`` array)
        """
        size = self.image_size(data_info)
        if size not in self._by_size:
            self._by_size[size] = self._resized(size)
        return self._by_size[size]

    def image_size(self, data_info: dict) -> Tuple[int, int]:
        """The (h, w) of an image as the pipeline's loader decodes it."""
        img = data_info.get('img')
        if img is not None:
            return tuple(int(s) for s in np.shape(img)[:2])
        path = data_info.get('img_path')
        if path is None:
            raise ValueError(
                'the input shape of an image needs its `img_path` or `img` '
                f'in the data info, got the keys {sorted(data_info)}'
            )
        source = path if osp.isfile(path) else None
        if source is None:
            source = BytesIO(fileio.get(path, backend_args=self.backend_args))
        with Image.open(source) as image:
            width, height = image.size
            orientation = image.getexif().get(_EXIF_ORIENTATION)
        if self.oriented and orientation in _QUARTER_TURNS:
            width, height = height, width
        return height, width

    def _resized(self, size: Tuple[int, int]) -> Hashable:
        if not self.resizes:
            return (size,)
        shapes = []
        for resize in self.resizes:
            dummy = dict(img=np.zeros((1, 1, 3), np.uint8), ori_shape=size)
            imgs = resize.transform(dummy)['img']
            imgs = imgs if isinstance(imgs, list) else [imgs]
            shapes.extend(tuple(img.shape[:2]) for img in imgs)
        return tuple(shapes)

    @staticmethod
    def of_dataset(dataset) -> Optional['InputShapes']:
        """The input shapes of ``dataset``'s pipeline, or ``None`` for a
        dataset without one (e.g. a ``ConcatDataset``)."""
        pipeline = getattr(dataset, 'pipeline', None)
        transforms = getattr(pipeline, 'transforms', None)
        return None if transforms is None else InputShapes(transforms)
