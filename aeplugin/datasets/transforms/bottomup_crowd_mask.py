from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import pycocotools.mask as cocomask
from mmcv.transforms import BaseTransform

from aeplugin.registry import TRANSFORMS

from .utils import encoded_heatmaps


@TRANSFORMS.register_module()
class BottomupCrowdMask(BaseTransform):
    """Mask out of the heatmap loss the people that have no keypoint labels.

    Replaces mmpose's ``BottomupGetHeatmapMask`` for AE training, because
    that transform rasterises only polygon segmentations: the COCO crowd
    regions, stored as RLE dicts, are skipped, so a crowd of unlabelled
    people is trained as background (and under numpy 2 its xtcocotools
    decoding fails on any polygon, so it cannot run at all). As in the
    official AE code and mmpose 0.x, every invalid instance of
    ``CocoDataset``'s bottom-up mode (crowd regions and people with zero
    labelled keypoints, listed in ``invalid_segs``) is ignored. Input
    pixels outside the source image (padding of the random affine) are
    ignored too, as in the official code.

    The mask is warped straight from the original image to the heatmap with
    the composition of ``warp_mat`` and the input-to-heatmap scaling, the
    same mapping the codec applies to keypoints (heatmap pixel ``j`` at input
    pixel ``j * stride``). Place it after ``GenerateTarget``;
    :class:`BottomupRandomFlip`, earlier, folds its mirror into
    ``warp_mat``.

    Note:
        - heatmap size: [W, H]
        - original image size: [w, h]

    Required Keys:

        - ori_shape
        - input_size
        - warp_mat
        - heatmaps
        - invalid_segs (optional)

    Added Keys:

        - heatmap_mask (and one mask per further entry of ``heatmap_keys``,
          e.g. heatmap_mask_2x)

    Args:
        threshold (float): A heatmap pixel is kept when the bilinearly
            warped valid-region mask exceeds it. Defaults to 0.5
        heatmap_keys (Sequence[str]): The encoded heatmaps to mask, each
            ``heatmaps`` plus a suffix; the mask of ``heatmaps{suffix}``
            (K, H', W') is ``heatmap_mask{suffix}`` (1, H', W'), e.g.
            ``('heatmaps', 'heatmaps_2x')`` for
            :class:`HigherBottomupGrouping`'s two sizes. Defaults to
            ``('heatmaps',)``
    """

    def __init__(
        self,
        threshold: float = 0.5,
        heatmap_keys: Sequence[str] = ('heatmaps',),
    ) -> None:
        super().__init__()
        if not 0.0 < threshold < 1.0:
            raise ValueError(f'threshold must be in (0, 1), got {threshold}')
        heatmap_keys = tuple(heatmap_keys)
        if not heatmap_keys or not all(
            isinstance(key, str) and key.startswith('heatmaps')
            for key in heatmap_keys
        ):
            raise ValueError(
                'heatmap_keys must be names starting with `heatmaps` (the '
                f'mask gets the same suffix), got {heatmap_keys!r}'
            )
        self.threshold = threshold
        self.heatmap_keys = heatmap_keys

    @staticmethod
    def _segs_to_rles(segs: Sequence, img_h: int, img_w: int) -> List[dict]:
        """Convert COCO segmentations to RLEs of the original image.

        Args:
            segs (Sequence): Segmentations of invalid instances: polygon
                lists, uncompressed RLE dicts (``counts`` a list, as COCO
                stores crowds) or compressed RLE dicts. ``None`` or ``[]``
                (an instance without segmentation) adds nothing
            img_h (int): Original image height h
            img_w (int): Original image width w

        Returns:
            List[dict]: Compressed RLEs of size (h, w)
        """
        rles = []
        for i, seg in enumerate(segs):
            if seg is None or (isinstance(seg, list) and not seg):
                continue
            if isinstance(seg, list):
                rles.extend(cocomask.frPyObjects(seg, img_h, img_w))
            elif isinstance(seg, dict) and 'counts' in seg:
                if list(seg.get('size', ())) != [img_h, img_w]:
                    raise ValueError(
                        f'invalid_segs[{i}] is an RLE of size '
                        f'{seg.get("size")} but the image is '
                        f'{[img_h, img_w]} (h, w)'
                    )
                if isinstance(seg['counts'], list):
                    rles.append(cocomask.frPyObjects(seg, img_h, img_w))
                else:
                    rles.append(seg)
            else:
                raise TypeError(
                    f'invalid_segs[{i}] must be a polygon list or an RLE '
                    f'dict, got {type(seg).__name__}'
                )
        return rles

    def _heatmap_warp(
        self, results: Dict, heatmap_size: Tuple[int, int]
    ) -> np.ndarray:
        """The (3, 3) matrix from original-image to heatmap pixels."""
        if 'warp_mat' not in results or 'input_size' not in results:
            raise ValueError(
                'BottomupCrowdMask needs `warp_mat` and `input_size` from '
                'BottomupRandomAffine earlier in the pipeline'
            )
        warp_mat = np.asarray(results['warp_mat'], dtype=np.float64)
        if warp_mat.shape == (2, 3):
            warp_mat = np.vstack([warp_mat, [0.0, 0.0, 1.0]])
        elif warp_mat.shape != (3, 3):
            raise ValueError(
                'warp_mat must be (2, 3) or (3, 3), got shape '
                f'{warp_mat.shape}'
            )
        input_w, input_h = results['input_size']
        W, H = heatmap_size
        to_heatmap = np.diag([W / input_w, H / input_h, 1.0])
        return to_heatmap @ warp_mat

    def transform(self, results: Dict) -> Optional[Dict]:
        """Add ``heatmap_mask`` (1, H, W) float32: 1 where the heatmap loss
        counts, 0 over invalid instances and outside the source image (and
        the mask of every further entry of ``heatmap_keys`` at its size).

        Args:
            results (dict): The result dict, after ``GenerateTarget``

        Returns:
            dict: The result dict
        """
        sizes = [
            encoded_heatmaps(results, 'BottomupCrowdMask', key).shape[1:]
            for key in self.heatmap_keys
        ]
        img_h, img_w = results['ori_shape'][:2]

        rles = self._segs_to_rles(
            results.get('invalid_segs', []), img_h, img_w
        )
        if rles:
            ignored = cocomask.decode(cocomask.merge(rles))
        else:
            ignored = np.zeros((img_h, img_w), dtype=np.uint8)
        valid = (1 - ignored).astype(np.float32)

        for key, (H, W) in zip(self.heatmap_keys, sizes):
            mask_key = 'heatmap_mask' + key[len('heatmaps') :]
            results[mask_key] = self._warp_valid(results, valid, (W, H))
        return results

    def _warp_valid(
        self, results: Dict, valid: np.ndarray, heatmap_size: Tuple[int, int]
    ) -> np.ndarray:
        """The (1, H, W) float32 mask of a heatmap of size [W, H], from the
        (h, w) valid region of the original image."""
        W, H = heatmap_size
        warp = self._heatmap_warp(results, (W, H))
        if np.allclose(warp[2], [0.0, 0.0, 1.0]):
            valid = cv2.warpAffine(
                valid,
                warp[:2],
                (W, H),
                flags=cv2.INTER_LINEAR,
                borderValue=0.0,
            )
        else:
            valid = cv2.warpPerspective(
                valid, warp, (W, H), flags=cv2.INTER_LINEAR, borderValue=0.0
            )
        kept = valid > self.threshold
        return kept[None].astype(np.float32)

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(threshold={self.threshold}, '
            f'heatmap_keys={self.heatmap_keys})'
        )
