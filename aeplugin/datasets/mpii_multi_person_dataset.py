import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
from mmpose.datasets.datasets.base import BaseCocoStyleDataset

from aeplugin.registry import DATASETS

from .mpii_multi_person_annotations import load_mpii_multi_person


@DATASETS.register_module()
class MpiiMultiPersonDataset(BaseCocoStyleDataset):
    """MPII for bottom-up pose estimation: every annotated person of an image
    in one sample.

    mmpose's ``MpiiDataset`` is top-down only (one person per sample). This
    dataset reads the same JSON, or the common per-person JSON with
    ``joint_self`` / ``joint_others``, groups the people by image (see
    :func:`load_mpii_multi_person`) and gives each sample the keys of
    mmpose's bottom-up ``CocoDataset`` samples, so the AE pipeline of
    ``configs/_base_/datasets/coco_bottomup.py`` runs on it unchanged.
    Keypoint metainfo (16 joints, flip pairs, sigmas, skeleton) is mmpose's
    ``configs/_base_/datasets/mpii.py``.

    MPII has no segmentations. A person without any labelled joint (a
    person rectangle with no joints) is an invalid instance, as COCO's
    people without keypoints: its center/scale box (side ``scale * 200``,
    the person height) goes to ``invalid_segs`` as a polygon, so that
    ``BottomupCrowdMask`` ignores it in the heatmap loss; without a
    center/scale it cannot be masked and only its absence of labels
    remains (the loader warns about these people, naming their records).

    Note:
        - people of an image: N
        - MPII joints: K = 16

    Each sample holds ``img_id`` (the numeric file name, or the image's
    position when a name is not numeric), ``img_path``, ``keypoints``
    (N, K, 2) float32 (0 where unlabelled), ``keypoints_visible`` (N, K)
    float32 (1 = labelled, occluded joints included), ``bbox`` (N, 4)
    float32 xyxy around the labelled joints (the center/scale box for a
    person without labelled joints, zeros without one), ``bbox_score`` (N,),
    ``area`` (N,) (the bbox area, at least 1), ``num_keypoints`` (N ints),
    ``category_id`` (N,) ones, ``iscrowd`` (N zeros), ``id`` (N person ids),
    ``invalid_segs``, ``head_boxes`` (N, 4) float32 [x1, y1, x2, y2] (NaN
    without a head rectangle) and ``raw_ann_info`` (per person ``joints``,
    ``joints_vis`` and ``head_box``, the ground truth that
    ``MpiiMultiPersonMetric`` reads without an ``ann_file``).

    Args:
        ann_file (str): MPII annotation JSON in either layout. Defaults to
            ``''``
        subset (str, optional): ``'train'`` or ``'val'`` (``isValidation``
            of the per-person layout). Defaults to ``None`` (all images)
        data_mode (str): Must be ``'bottomup'``. Defaults to ``'bottomup'``
        metainfo (dict, optional): Meta information. Defaults to ``None``
            (mmpose's MPII metainfo)
        data_root (str, optional): Root of ``ann_file`` and ``data_prefix``
        data_prefix (dict): Image folder, ``dict(img=...)``. Defaults to
            ``dict(img='')``
        filter_cfg (dict, optional): Unused in bottom-up mode
        indices (int | Sequence[int], optional): Keep only these samples
        serialize_data (bool): Serialize the data list. Defaults to ``True``
        pipeline (list): Transforms. Defaults to ``[]``
        test_mode (bool): Test mode. Defaults to ``False``
        lazy_init (bool): Load annotations on first use. Defaults to
            ``False``
        max_refetch (int): Refetch attempts when a transform returns
            ``None``. Defaults to 1000
    """

    METAINFO: dict = dict(from_file='configs/_base_/datasets/mpii.py')

    def __init__(
        self,
        ann_file: str = '',
        subset: Optional[str] = None,
        data_mode: str = 'bottomup',
        metainfo: Optional[dict] = None,
        data_root: Optional[str] = None,
        data_prefix: dict = dict(img=''),
        filter_cfg: Optional[dict] = None,
        indices: Optional[Union[int, Sequence[int]]] = None,
        serialize_data: bool = True,
        pipeline: List[Union[dict, Callable]] = [],
        test_mode: bool = False,
        lazy_init: bool = False,
        max_refetch: int = 1000,
    ) -> None:
        if data_mode != 'bottomup':
            raise ValueError(
                f'{self.__class__.__name__} is bottom-up only (one sample per '
                f"image), got data_mode={data_mode!r}; mmpose's MpiiDataset "
                'is the top-down one'
            )
        self.subset = subset
        super().__init__(
            ann_file=ann_file,
            data_mode=data_mode,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            filter_cfg=filter_cfg,
            indices=indices,
            serialize_data=serialize_data,
            pipeline=pipeline,
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch,
        )

    def load_data_list(self) -> List[Dict]:
        """One bottom-up data info per annotated image.

        Returns:
            List[dict]: The samples described in the class docstring
        """
        images = load_mpii_multi_person(self.ann_file, self.subset)
        stems = [osp.splitext(osp.basename(im['image']))[0] for im in images]
        numeric = all(stem.isdigit() for stem in stems) and len(
            set(map(int, stems))
        ) == len(stems)
        data_list = []
        next_id = 0
        for position, (image, stem) in enumerate(zip(images, stems)):
            n = len(image['keypoints'])
            data_list.append(
                self._image_data_info(
                    image,
                    img_id=int(stem) if numeric else position,
                    ids=list(range(next_id, next_id + n)),
                )
            )
            next_id += n
        return data_list

    def _image_data_info(self, image: Dict, img_id: int, ids: List[int]):
        keypoints = image['keypoints'].astype(np.float32)
        visible = image['keypoints_visible'].astype(np.float32)
        labelled = visible > 0
        n = len(keypoints)

        person_boxes = self._center_scale_boxes(
            image['centers'], image['scales']
        )
        bbox = np.zeros((n, 4), dtype=np.float32)
        invalid_segs = []
        for i in range(n):
            if labelled[i].any():
                xy = keypoints[i][labelled[i]]
                bbox[i] = [*xy.min(0), *xy.max(0)]
            elif np.isfinite(person_boxes[i]).all():
                bbox[i] = person_boxes[i]
                x1, y1, x2, y2 = person_boxes[i].tolist()
                invalid_segs.append([[x1, y1, x2, y1, x2, y2, x1, y2]])
        area = np.clip(
            (bbox[:, 2] - bbox[:, 0]) * (bbox[:, 3] - bbox[:, 1]), 1.0, None
        ).astype(np.float32)

        head_boxes = image['head_boxes'].astype(np.float32)
        raw_ann_info = [
            dict(
                joints=keypoints[i].tolist(),
                joints_vis=visible[i].tolist(),
                head_box=None
                if np.isnan(head_boxes[i]).any()
                else head_boxes[i].tolist(),
            )
            for i in range(n)
        ]
        return dict(
            img_id=img_id,
            img_path=osp.join(self.data_prefix['img'], image['image']),
            keypoints=keypoints,
            keypoints_visible=visible,
            bbox=bbox,
            bbox_score=np.ones(n, dtype=np.float32),
            area=area,
            num_keypoints=labelled.sum(1).tolist(),
            category_id=np.ones(n, dtype=np.int64),
            iscrowd=[0] * n,
            id=ids,
            invalid_segs=invalid_segs,
            head_boxes=head_boxes,
            raw_ann_info=raw_ann_info,
        )

    @staticmethod
    def _center_scale_boxes(centers: np.ndarray, scales: np.ndarray):
        """(N, 4) xyxy squares of side ``scale * 200`` (MPII's scale is the
        person height / 200) around the centers; NaN where unknown."""
        half = scales[:, None] * 100.0
        return np.concatenate([centers - half, centers + half], axis=1)
