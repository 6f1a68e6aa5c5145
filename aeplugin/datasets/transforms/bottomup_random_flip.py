from typing import Dict, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from aeplugin.registry import TRANSFORMS

from .utils import encoded_heatmaps


@TRANSFORMS.register_module()
class BottomupRandomFlip(BaseTransform):
    """Randomly mirror a bottom-up sample together with its encoded targets.

    Replaces mmpose's ``RandomFlip`` for AE training, for two reasons:

    - ``RandomFlip`` mirrors keypoints in input pixels (``x -> w - 1 - x``)
      before encoding, and the codec maps input ``x`` to heatmap ``x /
      stride``; so a flipped sample's heatmaps sit ``(stride - 1) / stride``
      heatmap pixels (0.75 at stride 4) off the mirror of the unflipped
      targets. AE's flip test averages the prediction with the mirrored
      prediction of the mirrored image without a shift (mmpose's AE config:
      ``shift_heatmap=False``), which assumes mirrored targets for mirrored
      images. This transform mirrors the targets themselves at heatmap
      resolution (``x -> W - 1 - x``, channels swapped by ``flip_indices``),
      as the official code and mmpose 0.x do.
    - ``RandomFlip`` unpacks ``input_size`` (w, h) as (h, w), which mirrors
      keypoints about the wrong axis for non-square inputs.

    The image is mirrored pixel for pixel; keypoints (input pixels) are
    mirrored about the heatmap axis, ``x -> stride * (W - 1) - x``, so that
    ``keypoints / stride`` still lands on the flipped targets. Place it after
    ``GenerateTarget`` and :class:`BottomupCrowdMask`.

    Note:
        - instance number: N
        - keypoint number: K
        - heatmap size: [W, H]
        - input image size: [w, h]

    Required Keys:

        - img
        - flip_indices
        - heatmaps
        - keypoint_indices
        - keypoint_weights
        - heatmap_mask (optional)
        - keypoints (optional)
        - keypoints_visible (optional)
        - keypoints_visible_weights (optional)
        - bbox (optional)

    Modified Keys:

        - img
        - heatmaps
        - keypoint_indices
        - keypoint_weights
        - heatmap_mask (optional)
        - keypoints (optional)
        - keypoints_visible (optional)
        - keypoints_visible_weights (optional)
        - bbox (optional)

    Added Keys:

        - flip
        - flip_direction

    Args:
        prob (float): The probability of flipping. Defaults to 0.5
    """

    def __init__(self, prob: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    @cache_randomness
    def _draw_flip(self) -> bool:
        return bool(np.random.rand() < self.prob)

    @staticmethod
    def _check_targets(results: Dict) -> None:
        heatmaps = encoded_heatmaps(results, 'BottomupRandomFlip')
        K = heatmaps.shape[0]
        indices = results.get('keypoint_indices')
        if (
            not isinstance(indices, np.ndarray)
            or indices.ndim != 3
            or indices.shape[1:] != (K, 2)
        ):
            got = (
                tuple(indices.shape)
                if isinstance(indices, np.ndarray)
                else type(indices).__name__
            )
            raise ValueError(
                f'keypoint_indices must be (N, {K}, 2), got {got}'
            )
        if len(results['flip_indices']) != K:
            raise ValueError(
                f'flip_indices has {len(results["flip_indices"])} entries '
                f'for K={K} heatmap channels'
            )

    def transform(self, results: Dict) -> Optional[Dict]:
        """Mirror the sample horizontally with probability ``prob``.

        Args:
            results (dict): The result dict, after ``GenerateTarget``

        Returns:
            dict: The result dict
        """
        self._check_targets(results)
        flip = self._draw_flip()
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        if not flip:
            return results

        flip_indices = np.asarray(results['flip_indices'])
        heatmaps = results['heatmaps']
        W = heatmaps.shape[2]
        stride = results['img'].shape[1] / W

        results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
        results['heatmaps'] = np.ascontiguousarray(
            heatmaps[flip_indices, :, ::-1]
        )
        if 'heatmap_mask' in results:
            results['heatmap_mask'] = np.ascontiguousarray(
                results['heatmap_mask'][..., ::-1]
            )

        # position index y * W + x; floor division keeps the arithmetic
        # exact for the (invisible) indices that fall off the map
        indices = results['keypoint_indices'][:, flip_indices].copy()
        y = indices[..., 0] // W
        x = indices[..., 0] - y * W
        indices[..., 0] = y * W + (W - 1 - x)
        results['keypoint_indices'] = indices

        for key in (
            'keypoint_weights',
            'keypoints_visible',
            'keypoints_visible_weights',
        ):
            if key in results:
                results[key] = results[key][:, flip_indices].copy()

        axis = stride * (W - 1)
        if 'keypoints' in results:
            keypoints = results['keypoints'][:, flip_indices].copy()
            keypoints[..., 0] = axis - keypoints[..., 0]
            results['keypoints'] = keypoints
        if results.get('bbox') is not None:
            results['bbox'] = self._flip_bbox(results['bbox'], axis)
        return results

    @staticmethod
    def _flip_bbox(bbox: np.ndarray, axis: float) -> np.ndarray:
        """Mirror boxes given as corners (N, 4, 2) or as xyxy (N, 4)."""
        bbox = np.array(bbox, copy=True)
        if bbox.ndim == 3 and bbox.shape[-1] == 2:
            bbox[..., 0] = axis - bbox[..., 0]
        elif bbox.ndim == 2 and bbox.shape[-1] == 4:
            bbox[:, [0, 2]] = axis - bbox[:, [2, 0]]
        else:
            raise ValueError(
                'bbox must be corners (N, 4, 2) or xyxy (N, 4), got shape '
                f'{bbox.shape}'
            )
        return bbox

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'
