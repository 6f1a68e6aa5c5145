"""The MPII multi-person AP protocol on hand-made cases with known answers.

A test person has its 16 joints on a 4 x 4 grid of 10 px and a 30 x 40 head
box: head size 0.6 * 50 = 30 px, so a joint matches within 15 px.
"""

import math

import numpy as np
import pytest

from aeplugin.evaluation.metrics import (
    assign_predictions,
    evaluate_mpii_multi_person,
    head_sizes,
    unpredicted_images_note,
    voc_ap,
)

K = 16
GRID = np.stack([np.arange(K) % 4, np.arange(K) // 4], -1) * 10.0
HEAD_BOX = np.array([0.0, 0.0, 30.0, 40.0])
SCORED = [0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15]


def gt_image(offsets, head_box=True):
    people = [GRID + np.asarray(o, float) for o in offsets]
    boxes = [
        HEAD_BOX + np.tile(o, 2) if head_box else np.full(4, np.nan)
        for o in offsets
    ]
    return dict(
        keypoints=np.array(people).reshape(-1, K, 2),
        keypoints_visible=np.ones((len(people), K)),
        head_boxes=np.array(boxes).reshape(-1, 4),
    )


def pred_image(people, scores):
    return dict(
        keypoints=np.array(people, float).reshape(-1, K, 2),
        keypoint_scores=np.repeat(np.asarray(scores, float)[:, None], K, 1),
    )


def shifted(joint, dx, offset=(0, 0)):
    person = GRID + np.asarray(offset, float)
    person[joint, 0] += dx
    return person


def test_voc_ap_hand_computed_and_ranking_by_score():
    # ranks T F T of 2 positives: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1
    assert voc_ap([0.9, 0.8, 0.7], [1, 0, 1], 2) == pytest.approx(
        0.5 * 1 + 0.5 * 2 / 3
    )
    # the same detections ranked F T T: the envelope is 2/3 everywhere
    assert voc_ap([0.7, 0.9, 0.8], [1, 0, 1], 2) == pytest.approx(2 / 3)
    # ties keep the given order (MATLAB's stable sort)
    assert voc_ap([1.0, 1.0], [0, 1], 1) == pytest.approx(0.5)
    assert voc_ap([1.0, 1.0], [1, 0], 1) == pytest.approx(1.0)
    assert voc_ap([], [], 3) == 0.0
    assert math.isnan(voc_ap([0.5], [0], 0))
    with pytest.raises(ValueError, match='same shape'):
        voc_ap([0.5, 0.4], [1], 1)


@pytest.mark.parametrize(
    'dx, matched', [(14.99, True), (15.0, True), (15.01, False)]
)
def test_joint_just_inside_or_outside_half_a_head_size(dx, matched):
    labels, pred_to_gt = assign_predictions(
        shifted(0, dx)[None], GRID[None], np.ones((1, K)), np.array([30.0])
    )
    assert pred_to_gt.tolist() == [0]
    assert labels[0, 0] == matched
    assert labels[0, 1:].all()

    result = evaluate_mpii_multi_person(
        [gt_image([(0, 0)])], [pred_image([shifted(0, dx)], [1.0])]
    )
    # right ankle: one detection, a hit or a false positive; left ankle hit
    assert result['joint_ap'][0] == (100.0 if matched else 0.0)
    assert result['table']['Ankle'] == (100.0 if matched else 50.0)
    assert result['table']['Head'] == 100.0


def test_second_prediction_of_a_person_is_a_false_positive():
    # the first prediction misses one joint, the second is exact: the person
    # takes the second (higher PCKh) and the first is all false positives
    near = shifted(0, 20.0)
    exact = GRID
    gt = [gt_image([(0, 0)])]

    # the false positives rank above the hits: precision 1/2 at recall 1
    worse_first = evaluate_mpii_multi_person(
        gt, [pred_image([near, exact], [0.9, 0.8])]
    )
    assert worse_first['table']['mAP'] == pytest.approx(50.0)
    # ranked below the hits they cost nothing
    worse_last = evaluate_mpii_multi_person(
        gt, [pred_image([near, exact], [0.8, 0.9])]
    )
    assert worse_last['table']['mAP'] == pytest.approx(100.0)

    labels, pred_to_gt = assign_predictions(
        np.array([near, exact]), GRID[None], np.ones((1, K)), np.array([30.0])
    )
    assert pred_to_gt.tolist() == [-1, 0]
    assert not labels[0].any() and labels[1].all()


def test_missing_person_halves_recall():
    gt = [gt_image([(0, 0), (200, 0)])]
    result = evaluate_mpii_multi_person(gt, [pred_image([GRID], [1.0])])
    for name, value in result['table'].items():
        assert value == pytest.approx(50.0), name
    assert result['num_people'] == 2
    # no prediction entry at all: every joint missed
    assert evaluate_mpii_multi_person(gt, [None])['table']['mAP'] == 0.0


def test_prediction_keeps_only_its_best_ground_truth():
    """assignGTmulti: a prediction competes only for the person it has the
    highest PCKh with; losing there leaves it unmatched, even where it would
    match another person."""
    a, b = (0, 0), (100, 0)
    second = GRID + np.asarray(a, float)
    # 6 joints on person b, 10 on person a
    second[:6] = GRID[:6] + np.asarray(b, float)
    labels, pred_to_gt = assign_predictions(
        np.array([GRID, second]),
        gt_image([a, b])['keypoints'],
        np.ones((2, K)),
        np.array([30.0, 30.0]),
    )
    assert pred_to_gt.tolist() == [0, -1]
    assert not labels[1].any()

    # with the exact prediction gone, the second goes to a (10/16 > 6/16)
    labels, pred_to_gt = assign_predictions(
        second[None],
        gt_image([a, b])['keypoints'],
        np.ones((2, K)),
        np.array([30.0, 30.0]),
    )
    assert pred_to_gt.tolist() == [0]
    assert labels[0].tolist() == [False] * 6 + [True] * 10


def test_head_size_from_box_or_head_joints():
    keypoints = np.stack([GRID, GRID, GRID])
    visible = np.ones((3, K))
    visible[2, 9] = 0  # no head top: no size
    boxes = np.stack([HEAD_BOX, np.full(4, np.nan), np.full(4, np.nan)])
    sizes, fallback = head_sizes(keypoints, visible, boxes)
    # upper neck (0, 20) to head top (10, 20): 10 px
    assert sizes[0] == pytest.approx(30.0)
    assert sizes[1] == pytest.approx(0.6 * math.sqrt(2) * 10.0)
    assert math.isnan(sizes[2])
    assert fallback.tolist() == [False, True, False]


@pytest.mark.parametrize('dx, matched', [(4.2, True), (4.3, False)])
def test_fallback_head_size_sets_the_threshold_and_is_counted(dx, matched):
    # 0.5 * 0.6 * sqrt(2) * 10 = 4.243 px
    result = evaluate_mpii_multi_person(
        [gt_image([(0, 0)], head_box=False)],
        [pred_image([shifted(0, dx)], [1.0])],
    )
    assert result['joint_ap'][0] == (100.0 if matched else 0.0)
    assert result['num_head_fallback'] == 1


def test_unscored_joints_unpredicted_joints_and_unscorable_people():
    pred = GRID.copy()
    pred[[6, 7]] += 500.0  # pelvis and thorax are not scored
    pred[15] = np.nan  # left wrist not predicted
    gt = gt_image([(0, 0), (200, 0)], head_box=False)
    gt['keypoints_visible'][1, [8, 9]] = 0  # person 2: no head size
    result = evaluate_mpii_multi_person([gt], [pred_image([pred], [1.0])])
    assert np.isnan(result['joint_ap'][[6, 7]]).all()
    assert result['joint_ap'][15] == 0.0
    assert (result['joint_ap'][[k for k in SCORED if k != 15]] == 100).all()
    assert result['num_people'] == 1
    assert result['num_unscorable'] == 1
    assert result['table']['Wrist'] == 50.0
    assert result['table']['mAP'] == pytest.approx(100.0 * 13 / 14)


def test_mismatched_inputs_are_an_error():
    with pytest.raises(ValueError, match='1 ground-truth images but 2'):
        evaluate_mpii_multi_person([gt_image([(0, 0)])], [None, None])
    pred = dict(keypoints=np.zeros((1, 17, 2)), keypoint_scores=np.ones(17))
    with pytest.raises(ValueError, match=r'got shapes \(1, 17, 2\) and'):
        evaluate_mpii_multi_person([gt_image([(0, 0)])], [pred])


def test_images_without_predictions_count_unless_as_the_toolkit():
    """evaluateAP.m (assignGTmulti.m) marks ground truth only in its loop
    over an image's predicted people: an image where nobody is predicted
    adds no ground truth. Here 1 person of 5 is found (score 1.0), and one
    prediction is a false positive (score 0.5) in an image it does count."""
    gt = [
        gt_image([(0, 0)]),
        gt_image([(0, 0), (200, 0)]),  # no prediction entry
        gt_image([(0, 0)]),  # an entry without people
        gt_image([(0, 0)]),  # predicted far away
    ]
    preds = [
        pred_image([GRID], [1.0]),
        None,
        pred_image([], []),
        pred_image([GRID + 500.0], [0.5]),
    ]
    ours = evaluate_mpii_multi_person(gt, preds)
    toolkit = evaluate_mpii_multi_person(
        gt, preds, count_unpredicted_images=False
    )
    # recall 1/5 at precision 1; as the toolkit 1/2 (images 0 and 3)
    for name in ours['table']:
        assert ours['table'][name] == pytest.approx(20.0), name
        assert toolkit['table'][name] == pytest.approx(50.0), name
    assert (ours['num_people'], toolkit['num_people']) == (5, 2)
    assert ours['num_unpredicted_images'] == 2
    assert toolkit['num_unpredicted_images'] == 2
    assert unpredicted_images_note(ours).startswith(
        'no person is predicted in 2 annotated images: their joints count '
        'as misses'
    )
    assert 'left out, as evaluateAP.m' in unpredicted_images_note(toolkit)
    assert (
        unpredicted_images_note(evaluate_mpii_multi_person(gt, [preds[0]] * 4))
        is None
    )
