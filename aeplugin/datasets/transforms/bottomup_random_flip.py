from typing import Dict, Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from aeplugin.registry import TRANSFORMS


@TRANSFORMS.register_module()
class BottomupRandomFlip(BaseTransform):
    """Randomly mirror a bottom-up sample after its random affine, before
    its targets are encoded.

    Replaces mmpose's ``RandomFlip`` for AE training, for two reasons:

    - ``RandomFlip`` does not update ``warp_mat``, from which
      :class:`BottomupCrowdMask` warps the ignore regions: a flipped image
      would get the unflipped mask. This transform folds the mirror into
      ``warp_mat``.
    - ``RandomFlip`` unpacks ``input_size`` (w, h) as (h, w), which mirrors
      keypoints about the wrong axis for non-square inputs.

    Keypoints are mirrored in input pixels (``x -> w - 1 - x``, the mirror
    of the image's pixel grid) and encoded afterwards, so a flipped sample
    teaches the network the codec's convention (input pixel ``x`` at
    heatmap pixel ``x / stride``) as an unflipped one does. Mirroring the
    encoded targets at heatmap resolution instead (``j -> W - 1 - j``, as
    the official code and mmpose 0.x do) would place them ``(stride - 1) /
    stride`` heatmap pixels (0.75 at stride 4) off that convention for half
    of the samples, a disagreement a translation-equivariant network can
    only average out. The flip test undoes this offset exactly
    (``aeplugin.models.utils.resample_maps``).

    Note:
        - instance number: N
        - keypoint number: K
        - input image size: [w, h]

    Required Keys:

        - img
        - flip_indices
        - keypoints (optional)
        - keypoints_visible (optional)
        - keypoints_visible_weights (optional)
        - bbox (optional)
        - warp_mat (optional)

    Modified Keys:

        - img
        - keypoints (optional)
        - keypoints_visible (optional)
        - keypoints_visible_weights (optional)
        - bbox (optional)
        - warp_mat (optional)

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
    def _check_inputs(results: Dict) -> np.ndarray:
        if 'heatmaps' in results:
            raise ValueError(
                'BottomupRandomFlip must come before GenerateTarget: it '
                'mirrors the keypoints, which the codec then encodes'
            )
        flip_indices = np.asarray(results['flip_indices'])
        keypoints = results.get('keypoints')
        if keypoints is not None and (
            keypoints.ndim != 3 or keypoints.shape[1] != len(flip_indices)
        ):
            raise ValueError(
                f'flip_indices has {len(flip_indices)} entries for keypoints '
                f'of shape {keypoints.shape} (expected (N, '
                f'{len(flip_indices)}, 2))'
            )
        return flip_indices

    def transform(self, results: Dict) -> Optional[Dict]:
        """Mirror the sample horizontally with probability ``prob``.

        Args:
            results (dict): The result dict, after the random affine

        Returns:
            dict: The result dict
        """
        flip_indices = self._check_inputs(results)
        flip = self._draw_flip()
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        if not flip:
            return results

        w = results['img'].shape[1]
        results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
        if results.get('keypoints') is not None:
            keypoints = results['keypoints'][:, flip_indices].copy()
            keypoints[..., 0] = w - 1 - keypoints[..., 0]
            results['keypoints'] = keypoints
        for key in ('keypoints_visible', 'keypoints_visible_weights'):
            if results.get(key) is not None:
                results[key] = results[key][:, flip_indices].copy()
        if results.get('bbox') is not None:
            results['bbox'] = self._flip_bbox(results['bbox'], w)
        if results.get('warp_mat') is not None:
            results['warp_mat'] = self._flip_warp(results['warp_mat'], w)
        return results

    @staticmethod
    def _flip_warp(warp_mat: np.ndarray, w: int) -> np.ndarray:
        """Compose the (2, 3) or (3, 3) original-to-input warp with the
        mirror of the input, keeping its shape."""
        warp_mat = np.asarray(warp_mat)
        if warp_mat.shape not in ((2, 3), (3, 3)):
            raise ValueError(
                'warp_mat must be (2, 3) or (3, 3), got shape '
                f'{warp_mat.shape}'
            )
        mirror = np.array(
            [[-1.0, 0.0, w - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        )
        full = np.vstack([warp_mat[:2], [0.0, 0.0, 1.0]])
        if warp_mat.shape == (3, 3):
            full = warp_mat
        flipped = mirror @ full
        return flipped[: len(warp_mat)].astype(warp_mat.dtype)

    @staticmethod
    def _flip_bbox(bbox: np.ndarray, w: int) -> np.ndarray:
        """Mirror boxes given as corners (N, 4, 2) or as xyxy (N, 4): box
        edges about ``w`` (as mmpose's ``flip_bbox``), corner points about
        ``w - 1`` (they are points, as keypoints)."""
        bbox = np.array(bbox, copy=True)
        if bbox.ndim == 3 and bbox.shape[-1] == 2:
            bbox[..., 0] = w - 1 - bbox[..., 0]
        elif bbox.ndim == 2 and bbox.shape[-1] == 4:
            bbox[:, [0, 2]] = w - bbox[:, [2, 0]]
        else:
            raise ValueError(
                'bbox must be corners (N, 4, 2) or xyxy (N, 4), got shape '
                f'{bbox.shape}'
            )
        return bbox

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'
