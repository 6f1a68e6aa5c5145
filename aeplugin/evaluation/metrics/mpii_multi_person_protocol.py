"""The MPII multi-person AP protocol in numpy (``evaluateAP.m`` of the MPII
toolkit, with its ``assignGTmulti.m``, ``getRPC.m`` and ``VOCap.m``).

Per image, a predicted person is compared with every ground-truth person:
a predicted joint matches a ground-truth joint when their distance is at
most ``threshold`` (0.5) head sizes, and the PCKh of the pair is the number
of matched joints over the ground-truth person's labelled joints. Each
prediction keeps only the ground-truth person with which its PCKh is
highest; each ground-truth person then takes, among the predictions that
kept it, the one with the highest PCKh, if that PCKh is above 0 (ties go to
the first, as MATLAB's ``max``). A matched prediction's joints are true or
false positives by distance; the joints of unmatched predictions are false
positives; labelled ground-truth joints that no prediction matches are
misses. Per joint type, all predicted joints of all images are ranked by
score (stable, in image then prediction order for ties) and scored with the
VOC AP (area under the precision envelope).

Images for which no person is predicted: their labelled ground-truth joints
are misses (they count in recall's denominator). ``evaluateAP.m`` leaves
them out: ``assignGTmulti.m`` marks a ground-truth joint (``hasGT``) only
inside its loop over the predicted people of an image, so an image without
any predicted person adds no ground truth, and a method that predicts nobody
in its hard images scores higher than by this definition.
``count_unpredicted_images=False`` does as the toolkit, to compare with
published numbers.

As the toolkit, 14 joints are scored: pelvis and thorax are not. The table
columns average left and right (``Head`` averages upper neck and head top)
and ``mAP`` is the mean of the 14 joint APs.

The head size of a person is 0.6 times the diagonal of its head rectangle
(``util_get_head_size.m``). Without a head rectangle it falls back to
``0.6 * sqrt(2) * |head top - upper neck|``: the rectangle taken as the
square whose side is the head's height, the head-top-to-upper-neck
segment. A person with neither cannot be scored and is left out.
"""

import math
from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

MPII_JOINT_NAMES = (
    'right_ankle',
    'right_knee',
    'right_hip',
    'left_hip',
    'left_knee',
    'left_ankle',
    'pelvis',
    'thorax',
    'upper_neck',
    'head_top',
    'right_wrist',
    'right_elbow',
    'right_shoulder',
    'left_shoulder',
    'left_elbow',
    'left_wrist',
)
UPPER_NECK, HEAD_TOP = 8, 9
# the toolkit's 14 joints, in its order: legs, arms, upper neck, head top
EVALUATED_JOINTS = (0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 8, 9)
# the columns of the paper's table (genTableAP.m): mean of the two joints
TABLE_COLUMNS = {
    'Head': (UPPER_NECK, HEAD_TOP),
    'Shoulder': (12, 13),
    'Elbow': (11, 14),
    'Wrist': (10, 15),
    'Hip': (2, 3),
    'Knee': (1, 4),
    'Ankle': (0, 5),
}
HEAD_BOX_FACTOR = 0.6
FALLBACK_HEAD_FACTOR = HEAD_BOX_FACTOR * math.sqrt(2)
PCKH_THRESHOLD = 0.5


def head_sizes(
    keypoints: np.ndarray,
    keypoints_visible: np.ndarray,
    head_boxes: np.ndarray,
) -> Tuple[np.ndarray, np.ndarray]:
    """Head size of each ground-truth person.

    Note:
        - ground-truth people: G
        - MPII joints: K = 16

    Args:
        keypoints (np.ndarray): (G, K, 2) ground-truth joints
        keypoints_visible (np.ndarray): (G, K), > 0 where labelled
        head_boxes (np.ndarray): (G, 4) [x1, y1, x2, y2], NaN rows where a
            person has no head rectangle

    Returns:
        tuple:
        - sizes (np.ndarray): (G,) head sizes, NaN where neither the
          rectangle nor both head joints are known
        - fallback (np.ndarray): (G,) bool, where the joints gave the size
    """
    head_boxes = np.asarray(head_boxes, dtype=np.float64).reshape(-1, 4)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    labelled = np.asarray(keypoints_visible) > 0
    box_sizes = HEAD_BOX_FACTOR * np.linalg.norm(
        head_boxes[:, 2:] - head_boxes[:, :2], axis=-1
    )
    fallback = np.isnan(box_sizes)
    joint_sizes = FALLBACK_HEAD_FACTOR * np.linalg.norm(
        keypoints[:, HEAD_TOP] - keypoints[:, UPPER_NECK], axis=-1
    )
    has_head = labelled[:, HEAD_TOP] & labelled[:, UPPER_NECK]
    joint_sizes = np.where(has_head, joint_sizes, np.nan)
    sizes = np.where(fallback, joint_sizes, box_sizes)
    return sizes, fallback & has_head


def assign_predictions(
    pred_keypoints: np.ndarray,
    gt_keypoints: np.ndarray,
    gt_visible: np.ndarray,
    gt_head_sizes: np.ndarray,
    threshold: float = PCKH_THRESHOLD,
) -> Tuple[np.ndarray, np.ndarray]:
    """Assign the predicted people of one image to its ground-truth people
    (``assignGTmulti.m``) and label their joints.

    Note:
        - predicted people: P
        - ground-truth people: G
        - joints: K (the caller picks which joints take part)

    Args:
        pred_keypoints (np.ndarray): (P, K, 2) predictions, NaN for a joint
            that was not predicted
        gt_keypoints (np.ndarray): (G, K, 2) ground truth
        gt_visible (np.ndarray): (G, K), > 0 where labelled
        gt_head_sizes (np.ndarray): (G,) positive head sizes
        threshold (float): A joint matches within ``threshold`` head sizes.
            Defaults to 0.5

    Returns:
        tuple:
        - labels (np.ndarray): (P, K) bool, True for a true positive
        - pred_to_gt (np.ndarray): (P,) int64, the ground-truth person of
          each prediction, -1 where unmatched
    """
    pred = np.asarray(pred_keypoints, dtype=np.float64)
    gt = np.asarray(gt_keypoints, dtype=np.float64)
    labelled = np.asarray(gt_visible) > 0
    P, G = pred.shape[0], gt.shape[0]
    labels = np.zeros(pred.shape[:2], dtype=bool)
    pred_to_gt = np.full(P, -1, dtype=np.int64)
    if P == 0 or G == 0:
        return labels, pred_to_gt

    dist = np.linalg.norm(pred[:, None] - gt[None], axis=-1)  # (P, G, K)
    dist = dist / np.asarray(gt_head_sizes, dtype=np.float64)[None, :, None]
    # NaN (joint not predicted) compares False: no match
    match = (dist <= threshold) & labelled[None]
    num_labelled = labelled.sum(-1)
    pck = np.divide(
        match.sum(-1),
        num_labelled[None],
        out=np.zeros((P, G)),
        where=num_labelled[None] > 0,
    )
    # each prediction keeps its best ground truth only
    best_gt = pck.argmax(1)
    kept = np.zeros_like(pck)
    kept[np.arange(P), best_gt] = pck[np.arange(P), best_gt]
    # each ground truth takes the best prediction that kept it
    best_pred = kept.argmax(0)
    for g in np.flatnonzero(kept[best_pred, np.arange(G)] > 0):
        pred_to_gt[best_pred[g]] = g
        labels[best_pred[g]] = match[best_pred[g], g]
    return labels, pred_to_gt


def voc_ap(scores: np.ndarray, labels: np.ndarray, num_gt: int) -> float:
    """VOC average precision of ranked detections (``getRPC.m`` +
    ``VOCap.m``).

    Note:
        - detections: D

    Args:
        scores (np.ndarray): (D,) detection scores, ranked high to low;
            ties keep the given order
        labels (np.ndarray): (D,) bool, True for a true positive
        num_gt (int): Ground-truth positives (recall's denominator)

    Returns:
        float: AP in [0, 1]; NaN when ``num_gt`` is 0
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels, dtype=bool).reshape(-1)
    if scores.shape != labels.shape:
        raise ValueError(
            f'scores and labels must have the same shape, got {scores.shape} '
            f'and {labels.shape}'
        )
    if num_gt <= 0:
        return math.nan
    order = np.argsort(-scores, kind='stable')
    true_positives = np.cumsum(labels[order])
    precision = true_positives / np.arange(1, len(order) + 1)
    recall = true_positives / num_gt
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.concatenate([[0.0], precision, [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.flatnonzero(recall[1:] != recall[:-1]) + 1
    return float(
        np.sum((recall[steps] - recall[steps - 1]) * precision[steps])
    )


def evaluate_mpii_multi_person(
    ground_truth: Sequence[Mapping],
    predictions: Sequence[Optional[Mapping]],
    threshold: float = PCKH_THRESHOLD,
    count_unpredicted_images: bool = True,
) -> Dict:
    """Score predictions of a set of images with the MPII multi-person AP.

    Note:
        - images: I
        - ground-truth people of an image: G
        - predicted people of an image: P
        - MPII joints: K = 16

    Args:
        ground_truth (Sequence[Mapping]): I images, each with
            ``keypoints`` (G, K, 2), ``keypoints_visible`` (G, K) and
            ``head_boxes`` (G, 4) (NaN rows without a head rectangle)
        predictions (Sequence[Mapping | None]): I entries in the same order,
            each with ``keypoints`` (P, K, 2) (NaN: joint not predicted) and
            ``keypoint_scores`` (P, K); ``None`` for an image without
            predictions
        threshold (float): PCKh threshold in head sizes. Defaults to 0.5
        count_unpredicted_images (bool): Whether the ground truth of an
            image without any predicted person counts (as misses). ``False``
            leaves it out, as ``evaluateAP.m`` does (see the module
            docstring). Defaults to ``True``

    Returns:
        dict:
        - ``joint_ap`` (np.ndarray): (K,) AP in percent per joint, NaN for
          pelvis and thorax (not scored) and for a joint without ground
          truth
        - ``table`` (dict): ``Head``, ``Shoulder``, ``Elbow``, ``Wrist``,
          ``Hip``, ``Knee``, ``Ankle``, ``mAP`` in percent
        - ``num_people`` (int): ground-truth people scored
        - ``num_unpredicted_images`` (int): images with ground-truth people
          but no predicted person (scored as misses, or left out with
          ``count_unpredicted_images=False``)
        - ``count_unpredicted_images`` (bool): the argument
        - ``num_head_fallback`` (int): people whose head size came from
          their head joints
        - ``num_unscorable`` (int): people with labelled joints but no head
          size, left out
    """
    if len(ground_truth) != len(predictions):
        raise ValueError(
            f'got {len(ground_truth)} ground-truth images but '
            f'{len(predictions)} prediction entries'
        )
    joints = list(EVALUATED_JOINTS)
    scores = {k: [] for k in joints}
    labels = {k: [] for k in joints}
    num_gt = dict.fromkeys(joints, 0)
    num_people = num_fallback = num_unscorable = num_unpredicted = 0
    num_joints = len(MPII_JOINT_NAMES)
    for image, (gt, pred) in enumerate(zip(ground_truth, predictions)):
        visible = np.asarray(gt['keypoints_visible']) > 0
        has_joints = visible[:, joints].any(-1)
        unpredicted = pred is None or len(pred['keypoints']) == 0
        num_unpredicted += int(unpredicted and has_joints.any())
        if unpredicted and not count_unpredicted_images:
            continue
        sizes, fallback = head_sizes(
            gt['keypoints'], visible, gt['head_boxes']
        )
        scorable = np.isfinite(sizes) & (sizes > 0)
        num_unscorable += int((has_joints & ~scorable).sum())
        num_people += int((has_joints & scorable).sum())
        num_fallback += int((has_joints & scorable & fallback).sum())
        gt_keypoints = np.asarray(gt['keypoints'])[scorable][:, joints]
        gt_visible = visible[scorable][:, joints]
        for k, count in zip(joints, gt_visible.sum(0)):
            num_gt[k] += int(count)
        if unpredicted:
            continue
        pred_keypoints = np.asarray(pred['keypoints'], np.float64)
        pred_scores = np.asarray(pred['keypoint_scores'], np.float64)
        if pred_keypoints.shape[1:] != (num_joints, 2) or (
            pred_scores.shape != pred_keypoints.shape[:2]
        ):
            raise ValueError(
                f'predictions of image {image} must have keypoints (P, '
                f'{num_joints}, 2) and keypoint_scores (P, {num_joints}), '
                f'got shapes {pred_keypoints.shape} and {pred_scores.shape}'
            )
        pred_keypoints = pred_keypoints[:, joints]
        pred_scores = pred_scores[:, joints]
        predicted = np.isfinite(pred_keypoints).all(-1) & np.isfinite(
            pred_scores
        )
        pred_keypoints[~predicted] = np.nan
        tp, _ = assign_predictions(
            pred_keypoints,
            gt_keypoints,
            gt_visible,
            sizes[scorable],
            threshold,
        )
        for column, k in enumerate(joints):
            rows = predicted[:, column]
            scores[k].append(pred_scores[rows, column])
            labels[k].append(tp[rows, column])

    joint_ap = np.full(len(MPII_JOINT_NAMES), np.nan)
    for k in joints:
        joint_ap[k] = 100.0 * voc_ap(
            np.concatenate(scores[k]) if scores[k] else np.zeros(0),
            np.concatenate(labels[k]) if labels[k] else np.zeros(0, bool),
            num_gt[k],
        )
    table = {
        name: float(joint_ap[list(pair)].mean())
        for name, pair in TABLE_COLUMNS.items()
    }
    table['mAP'] = float(joint_ap[joints].mean())
    return dict(
        joint_ap=joint_ap,
        table=table,
        num_people=num_people,
        num_unpredicted_images=num_unpredicted,
        count_unpredicted_images=count_unpredicted_images,
        num_head_fallback=num_fallback,
        num_unscorable=num_unscorable,
    )
