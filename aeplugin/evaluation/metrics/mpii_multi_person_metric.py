import json
import logging
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.fileio import get_local_path
from mmengine.logging import print_log

from aeplugin.datasets.mpii_multi_person_annotations import (
    MPII_NUM_JOINTS,
    load_mpii_multi_person,
)
from aeplugin.registry import METRICS

from .mpii_multi_person_protocol import (
    FALLBACK_HEAD_FACTOR,
    PCKH_THRESHOLD,
    TABLE_COLUMNS,
    evaluate_mpii_multi_person,
)

TABLE_KEYS = (*TABLE_COLUMNS, 'mAP')


def _numpy(value) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _person_keypoints(person, where: str):
    """One predicted person's (16, 2) joints and (16,) scores; a ``None``
    joint is not predicted (NaN)."""
    if not isinstance(person, dict) or 'keypoints' not in person:
        raise ValueError(f'{where} must be a dict with `keypoints`')
    joints = person['keypoints']
    if not isinstance(joints, list) or len(joints) != MPII_NUM_JOINTS:
        got = len(joints) if isinstance(joints, list) else type(joints)
        raise ValueError(
            f'{where}: `keypoints` must list {MPII_NUM_JOINTS} MPII joints '
            f'as [x, y, score], got {got}'
        )
    xys = np.full((MPII_NUM_JOINTS, 3), np.nan)
    for k, joint in enumerate(joints):
        if joint is None:
            continue
        if not isinstance(joint, (list, tuple)) or len(joint) != 3:
            raise ValueError(
                f'{where}: joint {k} must be [x, y, score] or null, got '
                f'{joint!r}'
            )
        xys[k] = joint
    return xys[:, :2], xys[:, 2]


def load_mpii_predictions(
    predictions: Union[str, os.PathLike, Sequence[dict]],
    images: Sequence[str],
) -> List[Optional[Dict]]:
    """Read MPII multi-person predictions in original image coordinates.

    Format: a list of ``{"image": file name, "people": [{"keypoints":
    [[x, y, score] x 16]}]}``, joints in MPII order; a joint may be ``null``
    (not predicted). Images without an entry have no predictions.

    Note:
        - predicted people of an image: P
        - MPII joints: K = 16

    Args:
        predictions (str | PathLike | Sequence[dict]): A JSON file, or its
            entries
        images (Sequence[str]): The annotated image names, in evaluation
            order

    Returns:
        List[dict | None]: Per image of ``images``: ``keypoints`` (P, K, 2)
        and ``keypoint_scores`` (P, K), NaN where not predicted; ``None``
        without an entry

    Raises:
        ValueError: An entry for an image that is not annotated or listed
            twice, or a person without 16 joints; the message names it
        TypeError: The file does not hold a list
    """
    if isinstance(predictions, (str, os.PathLike)):
        with get_local_path(str(predictions)) as local_path:
            with open(local_path) as f:
                predictions = json.load(f)
    if not isinstance(predictions, list):
        raise TypeError(
            'predictions must be a list of {"image", "people"} entries, '
            f'got {type(predictions).__name__}'
        )
    position = {name: i for i, name in enumerate(images)}
    result: List[Optional[Dict]] = [None] * len(images)
    for i, entry in enumerate(predictions):
        image = entry.get('image') if isinstance(entry, dict) else None
        if not isinstance(image, str):
            raise ValueError(
                f'prediction {i} must be a dict with an `image` file name'
            )
        where = f'prediction {i} (image {image!r})'
        if image not in position:
            raise ValueError(f'{where}: the image is not in the annotations')
        if result[position[image]] is not None:
            raise ValueError(f'{where}: the image has an earlier entry')
        people = entry.get('people')
        if not isinstance(people, list):
            raise ValueError(f'{where}: `people` must be a list')
        parsed = [
            _person_keypoints(person, f'{where}, person {j}')
            for j, person in enumerate(people)
        ]
        result[position[image]] = dict(
            keypoints=np.array([p[0] for p in parsed]).reshape(
                -1, MPII_NUM_JOINTS, 2
            ),
            keypoint_scores=np.array([p[1] for p in parsed]).reshape(
                -1, MPII_NUM_JOINTS
            ),
        )
    return result


def evaluate_mpii_prediction_file(
    ann: Union[str, os.PathLike, Sequence[dict]],
    predictions: Union[str, os.PathLike, Sequence[dict]],
    subset: Optional[str] = None,
    threshold: float = PCKH_THRESHOLD,
    count_unpredicted_images: bool = True,
) -> Dict:
    """Score a prediction file against MPII annotations (either layout of
    :func:`load_mpii_multi_person`): every annotated image counts, images
    without predictions with all their joints missed (unless
    ``count_unpredicted_images=False``).

    Args:
        ann (str | PathLike | Sequence[dict]): Annotations
        predictions (str | PathLike | Sequence[dict]): Predictions in the
            format of :func:`load_mpii_predictions`
        subset (str, optional): ``'train'`` / ``'val'`` of the per-person
            layout. Defaults to ``None`` (all)
        threshold (float): PCKh threshold. Defaults to 0.5
        count_unpredicted_images (bool): ``False`` leaves out the ground
            truth of images without any predicted person, as
            ``evaluateAP.m``. Defaults to ``True``

    Returns:
        dict: The result of :func:`evaluate_mpii_multi_person`
    """
    ground_truth = load_mpii_multi_person(ann, subset)
    preds = load_mpii_predictions(
        predictions, [gt['image'] for gt in ground_truth]
    )
    return evaluate_mpii_multi_person(
        ground_truth, preds, threshold, count_unpredicted_images
    )


def format_mpii_table(table: Dict[str, float]) -> str:
    """The paper's table (percent) as markdown.

    Args:
        table (dict): ``Head`` ... ``Ankle`` and ``mAP``, the ``table`` of
            :func:`evaluate_mpii_multi_person`

    Returns:
        str: A header, a rule and one row
    """
    return '\n'.join(
        [
            '| ' + ' | '.join(TABLE_KEYS) + ' |',
            '|' + ' --- |' * len(TABLE_KEYS),
            '| ' + ' | '.join(f'{table[k]:.1f}' for k in TABLE_KEYS) + ' |',
        ]
    )


def unpredicted_images_note(result: Dict) -> Optional[str]:
    """How images without any predicted person were scored, ``None`` when
    every image with ground truth has a prediction.

    Args:
        result (dict): The result of :func:`evaluate_mpii_multi_person`,
            which says (``count_unpredicted_images``) how they were scored
    """
    count = result['num_unpredicted_images']
    if not count:
        return None
    images = f'no person is predicted in {count} annotated image' + (
        's' if count > 1 else ''
    )
    if result['count_unpredicted_images']:
        return (
            f'{images}: their joints count as misses (evaluateAP.m leaves '
            'them out; count_unpredicted_images=False does so)'
        )
    return (
        f'{images}: their ground truth is left out, as evaluateAP.m does '
        '(count_unpredicted_images=False)'
    )


def head_size_notes(result: Dict) -> List[str]:
    """Warnings on how head sizes were found, empty when every scored
    person had a head rectangle."""
    notes = []
    if result['num_head_fallback']:
        notes.append(
            f'{result["num_head_fallback"]} of {result["num_people"]} '
            'ground-truth people have no head box: head size approximated '
            f'as {FALLBACK_HEAD_FACTOR:.4f} x |head top - upper neck|'
        )
    if result['num_unscorable']:
        notes.append(
            f'{result["num_unscorable"]} ground-truth people have neither a '
            'head box nor both head joints: left out'
        )
    return notes


def _ground_truth_from_raw(raw_ann_info: Sequence[dict]) -> Dict:
    """The ground truth of one image from the ``raw_ann_info`` that
    :class:`MpiiMultiPersonDataset` puts in each sample."""
    n = len(raw_ann_info)
    return dict(
        keypoints=np.array(
            [p['joints'] for p in raw_ann_info], dtype=np.float64
        ).reshape(n, MPII_NUM_JOINTS, 2),
        keypoints_visible=np.array(
            [p['joints_vis'] for p in raw_ann_info], dtype=np.float64
        ).reshape(n, MPII_NUM_JOINTS),
        head_boxes=np.array(
            [p.get('head_box') or [np.nan] * 4 for p in raw_ann_info],
            dtype=np.float64,
        ).reshape(n, 4),
    )


@METRICS.register_module()
class MpiiMultiPersonMetric(BaseMetric):
    """MPII multi-person AP (``evaluateAP.m`` of the MPII toolkit): per
    joint AP over the predicted joints ranked by score, PCKh@0.5 matching
    after a one-to-one assignment of predicted to ground-truth people in
    each image; the protocol is spelled out in
    ``aeplugin/evaluation/metrics/mpii_multi_person_protocol.py``.

    The images scored are those the loop processed. Predictions are the
    ``pred_instances`` of each sample, in original image coordinates:
    ``keypoints`` (P, K, 2) and ``keypoint_scores`` (P, K), the joint scores
    that rank them. Ground truth comes from ``ann_file`` (matched by image
    file name) or, without it, from each sample's ``raw_ann_info`` (keep
    ``'raw_ann_info'`` in ``PackPoseInputs``'s ``meta_keys``).

    Note:
        - predicted people of an image: P
        - MPII joints: K = 16

    Metrics (percent): ``Head``, ``Shoulder``, ``Elbow``, ``Wrist``,
    ``Hip``, ``Knee``, ``Ankle`` (left and right averaged; ``Head`` is upper
    neck and head top) and ``mAP`` (mean of the 14 scored joints), with the
    prefix ``mpii/``. People without a head box get a head size from their
    head joints; the log says how many.

    Args:
        ann_file (str, optional): MPII annotations in either layout of
            :func:`load_mpii_multi_person`. Defaults to ``None`` (each
            sample's ``raw_ann_info``)
        subset (str, optional): ``'train'`` / ``'val'`` of ``ann_file``'s
            per-person layout. Defaults to ``None``
        threshold (float): PCKh threshold in head sizes. Defaults to 0.5
        count_unpredicted_images (bool): Whether the ground truth of an
            image without any predicted person counts, as misses (the
            definition of AP). ``False`` leaves it out as the official
            ``evaluateAP.m`` does, for numbers comparable with published
            ones (see ``mpii_multi_person_protocol.py``). Defaults to
            ``True``
        collect_device (str): ``'cpu'`` or ``'gpu'``, to gather results
            across ranks. Defaults to ``'cpu'``
        prefix (str, optional): Metric name prefix. Defaults to ``'mpii'``
    """

    default_prefix: Optional[str] = 'mpii'

    def __init__(
        self,
        ann_file: Optional[str] = None,
        subset: Optional[str] = None,
        threshold: float = PCKH_THRESHOLD,
        count_unpredicted_images: bool = True,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not threshold > 0:
            raise ValueError(f'threshold must be positive, got {threshold}')
        if subset is not None and ann_file is None:
            raise ValueError('subset selects from ann_file, which is None')
        self.threshold = threshold
        self.count_unpredicted_images = count_unpredicted_images
        self.ground_truth = None
        if ann_file is not None:
            self.ground_truth = {
                osp.basename(gt['image']): gt
                for gt in load_mpii_multi_person(ann_file, subset)
            }

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep each sample's predicted people (and its ground truth when
        there is no ``ann_file``).

        Args:
            data_batch: The batch from the dataloader (unused)
            data_samples (Sequence[dict]): Outputs of the model, each with
                ``img_path`` and ``pred_instances``
        """
        for sample in data_samples:
            image = osp.basename(sample['img_path'])
            pred = sample['pred_instances']
            keypoints = _numpy(pred['keypoints'])
            scores = _numpy(pred['keypoint_scores'])
            if keypoints.ndim != 3 or keypoints.shape[1:] != (
                MPII_NUM_JOINTS,
                2,
            ):
                raise ValueError(
                    f'pred_instances.keypoints of {image!r} must be (P, 16, '
                    f'2), got shape {keypoints.shape}'
                )
            if scores.shape != keypoints.shape[:2]:
                raise ValueError(
                    f'pred_instances.keypoint_scores of {image!r} must be '
                    f'{keypoints.shape[:2]}, got shape {scores.shape}'
                )
            result = dict(
                image=image, keypoints=keypoints, keypoint_scores=scores
            )
            if self.ground_truth is None:
                if sample.get('raw_ann_info') is None:
                    raise ValueError(
                        f'sample {image!r} has no raw_ann_info: give the '
                        "metric an ann_file or keep 'raw_ann_info' in the "
                        "pipeline's meta_keys"
                    )
                result['gt'] = _ground_truth_from_raw(sample['raw_ann_info'])
            elif image not in self.ground_truth:
                raise ValueError(f'image {image!r} is not in ann_file')
            self.results.append(result)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Score the processed images.

        Args:
            results (list): What :meth:`process` kept, from every rank

        Returns:
            dict: ``Head`` ... ``Ankle`` and ``mAP`` in percent
        """
        by_image = {}
        for result in results:
            # a distributed sampler may repeat samples to fill its ranks
            by_image.setdefault(result['image'], result)
        ground_truth = [
            r['gt'] if self.ground_truth is None else self.ground_truth[name]
            for name, r in by_image.items()
        ]
        evaluation = evaluate_mpii_multi_person(
            ground_truth,
            list(by_image.values()),
            self.threshold,
            self.count_unpredicted_images,
        )
        for note in head_size_notes(evaluation):
            print_log(note, logger='current', level=logging.WARNING)
        note = unpredicted_images_note(evaluation)
        if note is not None:
            print_log(note, logger='current', level=logging.WARNING)
        print_log(
            f'MPII multi-person AP on {len(by_image)} images:\n'
            + format_mpii_table(evaluation['table']),
            logger='current',
        )
        return evaluation['table']
