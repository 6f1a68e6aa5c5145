from typing import Dict, Sequence, Tuple

import cv2
import numpy as np
from mmpose.datasets.transforms import BottomupResize
from mmpose.structures.bbox import get_warp_matrix

from aeplugin.registry import TRANSFORMS


@TRANSFORMS.register_module()
class BottomupMultiScaleResize(BottomupResize):
    """Resize an image to an aligned pyramid of inputs for multi-scale test.

    Every scale's input covers the same region of the image (same
    ``input_center`` and ``input_scale``), so the heatmaps and tags of all
    scales line up pixel for pixel once resized to one size, which is how
    :class:`AssociativeEmbeddingHead` aggregates them.

    Why not mmpose's ``BottomupResize(aug_scales=...)``: it sizes and pads
    each scale on its own, so for non-square images the scales cover
    different regions (a 640x425 image at 512: the scale-1 input is 832 px
    wide and covers 690 image px, the scale-0.5 input 448 px for 743 image
    px) and their resized heatmaps are shifted against each other; its
    pyramid also cannot be packed by ``PackPoseInputs``, which stacks the
    images into one tensor (use :class:`PackMultiScalePoseInputs`).

    The smallest scale is sized as ``BottomupResize`` sizes one input
    (``resize_mode``, rounded up to ``size_factor``) and fixes the image
    region; scale ``s`` gets ``s / min(scales)`` times that input size,
    rounded up to ``size_factor``. With ``scales`` whose ratios to the
    smallest are integers (the official ``[2, 1, 0.5]``) every input is an
    exact multiple of the smallest; otherwise rounding up stretches an
    input by less than ``size_factor`` pixels along a side, the region it
    covers staying the same. The scale-1 input may thus get more padding
    than ``BottomupResize`` gives it (768 instead of 704 px for a 640x480
    image at 512 with ``[2, 1, 0.5]``); with ``scales=[1.0]`` the output is
    exactly that of ``BottomupResize``.

    Note:
        - scale number: S
        - image size of scale s: [w_s, h_s]

    Required Keys:

        - img
        - ori_shape

    Modified Keys:

        - img: a list of S images (h_s, w_s, C), scale 1 first, then the
          other scales in the given order
        - img_shape: (h, w) of the scale-1 input

    Added Keys:

        - input_size: [w, h] of the scale-1 input
        - input_center: the image point at the inputs' centre, [x, y]
        - input_scale: the image region every input covers, [w, h]
        - aug_scales: the scales other than 1, in the order of ``img``
          (read by mmpose's ``BottomupPoseEstimator``)

    Args:
        input_size (Tuple[int, int]): The scale-1 input size in [w, h]
        scales (Sequence[float]): The test scales; must include 1.0, the
            scale whose input carries the coordinates. Defaults to
            ``(1.0,)``
        size_factor (int): Every input side is a multiple of it (64 for the
            hourglass). Defaults to 32
        resize_mode (str): ``'fit'`` or ``'expand'``, as ``BottomupResize``.
            Defaults to ``'fit'``
        pad_val (tuple): The padding colour. Defaults to ``(0, 0, 0)``
    """

    def __init__(
        self,
        input_size: Tuple[int, int],
        scales: Sequence[float] = (1.0,),
        size_factor: int = 32,
        resize_mode: str = 'fit',
        pad_val: tuple = (0, 0, 0),
    ):
        super().__init__(
            input_size=input_size,
            size_factor=size_factor,
            resize_mode=resize_mode,
            pad_val=pad_val,
        )
        if isinstance(scales, (str, bytes)) or not isinstance(
            scales, Sequence
        ):
            raise TypeError(
                f'scales must be a sequence of floats, got {scales!r}'
            )
        scales = [float(s) for s in scales]
        if not scales or min(scales) <= 0:
            raise ValueError(
                f'scales must be positive and not empty, got {scales}'
            )
        if len(set(scales)) != len(scales):
            raise ValueError(f'scales has duplicates: {scales}')
        if 1.0 not in scales:
            raise ValueError(
                'scales must include 1.0 (the scale whose input carries the '
                f'coordinates), got {scales}'
            )
        self.scales = scales

    def _ceil_to_factor(self, size: Tuple[float, float]) -> Tuple[int, int]:
        # rounding first keeps e.g. 384 / 0.5 * 1.0000000001 at 768
        return tuple(
            int(np.ceil(round(s / self.size_factor, 6)) * self.size_factor)
            for s in size
        )

    @staticmethod
    def _warp_matrix(
        center: np.ndarray, region: np.ndarray, size: Tuple[int, int]
    ) -> np.ndarray:
        """The (2, 3) affine mapping ``region`` around ``center`` onto an
        input of ``size``."""
        factors = np.asarray(size, dtype=np.float64) / region
        if np.isclose(factors[0], factors[1], rtol=1e-6, atol=0):
            # BottomupResize's own matrix, so that scale 1 matches it bit
            # for bit
            return get_warp_matrix(
                center=center, scale=region, rot=0, output_size=size
            )
        # get_warp_matrix scales both axes by the width's factor; an input
        # whose sides were rounded up differently needs one factor per axis
        # to cover exactly the region
        shift = np.asarray(size) / 2 - factors * center
        return np.array(
            [[factors[0], 0, shift[0]], [0, factors[1], shift[1]]],
            dtype=np.float32,
        )

    def transform(self, results: Dict) -> Dict:
        """Resize ``results['img']`` to one input per scale.

        Args:
            results (dict): The result dict with ``img`` and ``ori_shape``

        Returns:
            dict: The result dict with the pyramid in ``img``
        """
        img = results['img']
        img_h, img_w = results['ori_shape']
        w, h = self.input_size
        min_scale = min(self.scales)
        actual, padded = self._get_input_size(
            img_size=(img_w, img_h), input_size=(w * min_scale, h * min_scale)
        )
        center = np.array([img_w / 2, img_h / 2], dtype=np.float32)
        region = np.array(
            [img_w * padded[0] / actual[0], img_h * padded[1] / actual[1]],
            dtype=np.float32,
        )

        ordered = [1.0] + [s for s in self.scales if s != 1.0]
        imgs = []
        for scale in ordered:
            ratio = scale / min_scale
            size = self._ceil_to_factor((padded[0] * ratio, padded[1] * ratio))
            warp_mat = self._warp_matrix(center, region, size)
            imgs.append(
                cv2.warpAffine(
                    img,
                    warp_mat,
                    size,
                    flags=cv2.INTER_LINEAR,
                    borderValue=self.pad_val,
                )
            )
            if scale == 1.0:
                results['img_shape'] = size[::-1]
                results['input_size'] = size

        results['img'] = imgs
        results['input_center'] = center
        results['input_scale'] = region
        results['aug_scales'] = ordered[1:]
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(input_size={self.input_size}, '
            f'scales={self.scales}, size_factor={self.size_factor}, '
            f'resize_mode={self.resize_mode!r}, pad_val={self.pad_val})'
        )
