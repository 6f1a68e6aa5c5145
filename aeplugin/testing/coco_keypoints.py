"""COCO keypoint people and AP for the codec tests and benchmarks.

:func:`load_coco_people` reads the people of a COCO keypoint annotation
file into the codec's input space, :func:`to_detections` turns decoded
people into COCO result entries and :func:`coco_keypoint_ap` scores them
against the loaded people with xtcocotools.
"""

import contextlib
import io
import json
from pathlib import Path
from typing import Dict, List, Sequence, Union

import numpy as np

from .coco import COCO_SIGMAS


def load_coco_people(
    ann_file: Union[str, Path], input_size: int = 512
) -> List[dict]:
    """The non-crowd people with labelled keypoints of each image of a COCO
    keypoint annotation file, scaled so that the longer image side spans
    the codec input.

    Note:

        - instance number: N (per image)
        - keypoint number: K

    Args:
        ann_file (str | Path): COCO person keypoint annotation JSON
        input_size (int): The side of the square codec input the longer
            image side is scaled to. Defaults to 512

    Returns:
        List[dict]: Per image with at least one such person:
        ``image_id``, ``keypoints`` (N, K, 2) and ``visible`` (N, K) (COCO
        flags 0/1/2) in the input space, ``area`` (N, ) and ``bbox`` (N, 4)
        scaled alike
    """
    data = json.loads(Path(ann_file).read_text())
    people: Dict[int, list] = {}
    for ann in data['annotations']:
        if ann['num_keypoints'] > 0 and not ann.get('iscrowd', 0):
            people.setdefault(ann['image_id'], []).append(ann)
    images = []
    for image in data['images']:
        anns = people.get(image['id'])
        if not anns:
            continue
        scale = input_size / max(image['width'], image['height'])
        keypoints = np.array(
            [ann['keypoints'] for ann in anns], dtype=np.float64
        ).reshape(len(anns), -1, 3)
        images.append(
            dict(
                image_id=image['id'],
                keypoints=keypoints[..., :2] * scale,
                visible=keypoints[..., 2],
                area=np.array([ann['area'] for ann in anns]) * scale**2,
                bbox=np.array([ann['bbox'] for ann in anns]) * scale,
            )
        )
    return images


def coco_keypoint_ap(samples: Sequence[dict], detections: List[dict]) -> float:
    """COCO keypoint AP (xtcocotools, OKS with area and COCO sigmas) of
    detections against the people of the samples.

    Note:

        - instance number: N (per sample)
        - keypoint number: K (17, the COCO keypoints)

    Args:
        samples (Sequence[dict]): Images as :func:`load_coco_people` gives
            them: ``image_id``, ``keypoints`` (N, K, 2), ``visible`` (N, K),
            ``area`` (N, ) and ``bbox`` (N, 4)
        detections (List[dict]): COCO result entries, as
            :func:`to_detections` gives them

    Returns:
        float: The AP over OKS thresholds 0.5:0.95; 0.0 without detections
    """
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval

    annotations = []
    for sample in samples:
        for keypoints, flags, area, bbox in zip(
            sample['keypoints'], sample['visible'], sample['area'],
            sample['bbox'],
        ):  # fmt: skip
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=sample['image_id'],
                    category_id=1,
                    iscrowd=0,
                    area=float(area),
                    bbox=bbox.tolist(),
                    num_keypoints=int((flags > 0).sum()),
                    keypoints=np.concatenate([keypoints, flags[:, None]], 1)
                    .ravel()
                    .tolist(),
                )
            )
    if not detections:
        return 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = dict(
            images=[dict(id=sample['image_id']) for sample in samples],
            categories=[dict(id=1, name='person')],
            annotations=annotations,
        )
        coco_gt.createIndex()
        evaluator = COCOeval(
            coco_gt,
            coco_gt.loadRes(detections),
            'keypoints',
            COCO_SIGMAS,
            use_area=True,
        )
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(evaluator.stats[0])


def to_detections(
    samples: Sequence[dict],
    keypoints: Sequence[np.ndarray],
    keypoint_scores: Sequence[np.ndarray],
    instance_scores: Sequence[np.ndarray],
) -> List[dict]:
    """COCO result entries of the decoded people of each sample.

    Note:

        - instance number: N (per sample)
        - keypoint number: K

    Args:
        samples (Sequence[dict]): The samples, each with its ``image_id``
        keypoints (Sequence[np.ndarray]): Per sample the decoded keypoints
            in shape (N, K, 2)
        keypoint_scores (Sequence[np.ndarray]): Per sample the keypoint
            scores in shape (N, K)
        instance_scores (Sequence[np.ndarray]): Per sample the instance
            scores in shape (N, )

    Returns:
        List[dict]: One entry per decoded person: ``image_id``,
        ``category_id`` 1, ``keypoints`` (a flat list of K [x, y, score]
        triples) and ``score``
    """
    return [
        dict(
            image_id=sample['image_id'],
            category_id=1,
            keypoints=np.concatenate([kpts, scores[:, None]], axis=1)
            .ravel()
            .tolist(),
            score=float(score),
        )
        for sample, image_kpts, image_scores, image_instance_scores in zip(
            samples, keypoints, keypoint_scores, instance_scores
        )
        for kpts, scores, score in zip(
            image_kpts, image_scores, image_instance_scores
        )
    ]
