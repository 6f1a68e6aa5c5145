"""Check and load the images given to inference, the demos and the tools.

A file that is missing, empty, cut short or not an image raises an error
that names it before any image runs through the model, instead of an
assertion from deep inside mmcv or a partly decoded image (OpenCV decodes a
truncated JPEG with only a warning on stderr). Grayscale and 4-channel
images become the 3-channel BGR images the models take.
"""

import os.path as osp
from pathlib import Path
from typing import Union

import cv2
import numpy as np
from mmengine import fileio

from aeplugin.datasets.coco_dataset import image_file_problem

ImageType = Union[str, Path, np.ndarray]

# bytes of a file that is not an image shown in the error
_HEAD = 16


def check_image_file(path: Union[str, Path]) -> None:
    """Raise an error naming ``path`` when it is not an image file OpenCV
    can read.

    Reads the first and the last bytes of the file only: a JPEG without its
    end-of-image marker or a PNG without its ``IEND`` chunk is found without
    decoding it.

    Args:
        path (str | Path): A local image file; a URL (``'://'``) is left to
            mmengine's file backends

    Raises:
        FileNotFoundError: ``path`` does not exist
        ValueError: ``path`` is a directory, an empty file, a JPEG or PNG
            cut short, or a file of no format OpenCV reads (e.g. text)
    """
    path = str(path)
    if '://' in path:
        return
    if not osp.exists(path):
        raise FileNotFoundError(f'image file {path} does not exist')
    if osp.isdir(path):
        raise ValueError(f'{path} is a directory, not an image file')
    problem = image_file_problem(path)
    if problem is not None:
        raise ValueError(f'image file {path} {problem}')
    if not cv2.haveImageReader(path):
        with open(path, 'rb') as f:
            head = f.read(_HEAD)
        raise ValueError(
            f'{path} is not an image file OpenCV can read (it starts with '
            f'{head!r})'
        )


def check_image(image: ImageType, name: str = 'image') -> None:
    """Raise an error naming the input when ``image`` cannot be loaded by
    :func:`load_image`.

    Args:
        image (str | Path | np.ndarray): An image file (see
            :func:`check_image_file`) or an image in shape (H, W, 3) (BGR),
            (H, W, 4) (BGRA), (H, W) or (H, W, 1) (grayscale)
        name (str): What the errors call an array, e.g. ``'images[2]'``
            (a file is called by its path). Defaults to ``'image'``

    Raises:
        FileNotFoundError: A file that does not exist
        ValueError: A file :func:`check_image_file` refuses, or an array of
            another shape or with no pixels
        TypeError: ``image`` is neither a path nor an array
    """
    if isinstance(image, (str, Path)):
        check_image_file(image)
        return
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f'{name} must be a path or an np.ndarray, got '
            f'{type(image).__name__}'
        )
    if not (
        image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4))
    ):
        raise ValueError(
            f'{name} must be an image of shape (H, W, 3) (BGR), (H, W, 4) '
            f'(BGRA), (H, W) or (H, W, 1) (grayscale), got {image.shape}'
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f'{name} has no pixels: shape {image.shape}')


def load_image(image: ImageType, name: str = 'image') -> np.ndarray:
    """The image as the models take it: 3-channel BGR.

    A file is decoded as mmpose's ``LoadImage`` decodes it by default
    (``cv2.imdecode`` with ``IMREAD_COLOR``: a grayscale image has its
    channel repeated, the alpha channel of a 4-channel one is dropped); an
    array is converted the same way and keeps its dtype.

    Note:
        - image size: [W, H]

    Args:
        image (str | Path | np.ndarray): An image file, or an image in
            shape (H, W, 3) (BGR, returned as it is), (H, W, 4) (BGRA, as
            ``cv2.imread`` with ``IMREAD_UNCHANGED`` returns), (H, W) or
            (H, W, 1) (grayscale)
        name (str): What the errors call an array, e.g. ``'images[2]'``.
            Defaults to ``'image'``

    Returns:
        np.ndarray: The BGR image in shape (H, W, 3); uint8 for a file

    Raises:
        FileNotFoundError: A file that does not exist
        ValueError: An input :func:`check_image` refuses, or a file OpenCV
            cannot decode (a corrupt image of a known format)
        TypeError: ``image`` is neither a path nor an array
    """
    check_image(image, name)
    return read_bgr(image)


def read_bgr(image: ImageType) -> np.ndarray:
    """:func:`load_image` without its checks, for an input that
    :func:`check_image` has accepted already.

    Args:
        image (str | Path | np.ndarray): As :func:`load_image`

    Returns:
        np.ndarray: The BGR image in shape (H, W, 3); uint8 for a file

    Raises:
        ValueError: A file OpenCV cannot decode (a corrupt image of a known
            format)
    """
    if isinstance(image, np.ndarray):
        if image.ndim == 2:
            image = image[..., None]
        if image.shape[2] == 1:
            return np.repeat(image, 3, axis=2)
        # OpenCV takes only C-contiguous arrays, which the slice is not
        return np.ascontiguousarray(image[..., :3])
    path = str(image)
    data = np.frombuffer(fileio.get(path), np.uint8)
    # cv2.imdecode asserts on an empty buffer (a remote file can be empty)
    decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if decoded is None:
        raise ValueError(
            f'image file {path} cannot be decoded (a corrupt image?)'
        )
    return decoded
