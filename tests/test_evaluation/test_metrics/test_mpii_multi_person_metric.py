"""MpiiMultiPersonMetric and the prediction-file front end on the real MPII
annotations of tests/data (see the READMEs there)."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

from aeplugin.datasets.mpii_multi_person_annotations import (
    load_mpii_multi_person,
)
from aeplugin.evaluation.metrics import (
    MpiiMultiPersonMetric,
    evaluate_mpii_multi_person,
    evaluate_mpii_prediction_file,
    format_mpii_table,
    head_size_notes,
    load_mpii_predictions,
)
from aeplugin.registry import METRICS

DATA = Path(__file__).parents[2] / 'data'
PER_PERSON = DATA / 'mpii-multi' / 'mpii_annotations.json'
MMPOSE_LAYOUT = DATA / 'mpii' / 'test_mpii.json'
KEYS = ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'mAP']


def load(path):
    with warnings.catch_warnings():
        # the per-person file's stale joint copies (tested with the dataset)
        warnings.simplefilter('ignore')
        return load_mpii_multi_person(path)


def ground_truth_as_predictions(images):
    """The prediction format: labelled joints with score 1, others null."""
    return [
        dict(
            image=image['image'],
            people=[
                dict(
                    keypoints=[
                        [*xy, 1.0] if v else None
                        for xy, v in zip(person.tolist(), visible)
                    ]
                )
                for person, visible in zip(
                    image['keypoints'], image['keypoints_visible']
                )
            ],
        )
        for image in images
    ]


def noisy_predictions(images, seed=0, sigma=3.0):
    """Every joint predicted, a few pixels off, with random scores."""
    rng = np.random.default_rng(seed)
    return [
        dict(
            keypoints=image['keypoints']
            + rng.normal(0, sigma, image['keypoints'].shape),
            keypoint_scores=rng.random(image['keypoints'].shape[:2]),
        )
        for image in images
    ]


@pytest.mark.parametrize(
    'path', [PER_PERSON, MMPOSE_LAYOUT], ids=['per-person', 'mmpose']
)
def test_ground_truth_as_predictions_scores_100(path):
    images = load(path)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        result = evaluate_mpii_prediction_file(
            path, ground_truth_as_predictions(images)
        )
    assert result['table'] == dict.fromkeys(KEYS, 100.0)
    people = sum(len(image['keypoints']) for image in images)
    assert result['num_people'] == people
    # neither file has head boxes: every head size comes from the joints
    assert result['num_head_fallback'] == people
    assert head_size_notes(result) == [
        f'{people} of {people} ground-truth people have no head box: head '
        'size approximated as 0.8485 x |head top - upper neck|'
    ]


def test_dropping_a_joint_type_zeroes_exactly_its_ap():
    images = load(PER_PERSON)
    preds = noisy_predictions(images)
    full = evaluate_mpii_multi_person(images, preds)
    assert 50.0 < full['table']['mAP'] < 100.0

    left_wrist = 15
    for pred in preds:
        pred['keypoints'][:, left_wrist] = np.nan
    dropped = evaluate_mpii_multi_person(images, preds)
    assert dropped['joint_ap'][left_wrist] == 0.0
    others = [k for k in range(16) if k != left_wrist]
    np.testing.assert_array_equal(
        dropped['joint_ap'][others], full['joint_ap'][others]
    )
    assert dropped['table']['Wrist'] == pytest.approx(full['joint_ap'][10] / 2)


def _samples(images, preds, with_gt):
    samples = []
    for image, pred in zip(images, preds):
        sample = dict(
            img_path=f'some/dir/{image["image"]}',
            pred_instances=dict(
                keypoints=torch.from_numpy(pred['keypoints']).float(),
                keypoint_scores=torch.from_numpy(
                    pred['keypoint_scores']
                ).float(),
            ),
        )
        if with_gt:
            sample['raw_ann_info'] = [
                dict(joints=xy.tolist(), joints_vis=v.tolist(), head_box=None)
                for xy, v in zip(
                    image['keypoints'], image['keypoints_visible']
                )
            ]
        samples.append(sample)
    return samples


@pytest.mark.parametrize('from_ann_file', [True, False])
def test_metric_matches_the_protocol_function(from_ann_file):
    images = load(PER_PERSON)
    preds = noisy_predictions(images, seed=1, sigma=6.0)
    expected = evaluate_mpii_multi_person(
        images,
        [
            dict(
                keypoints=p['keypoints'].astype(np.float32),
                keypoint_scores=p['keypoint_scores'].astype(np.float32),
            )
            for p in preds
        ],
    )['table']

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        metric = MpiiMultiPersonMetric(
            ann_file=str(PER_PERSON) if from_ann_file else None
        )
    samples = _samples(images, preds, with_gt=not from_ann_file)
    for start in range(0, len(samples), 8):
        metric.process({}, samples[start : start + 8])
    # a distributed sampler's padding repeats the first samples
    metric.process({}, samples[:2])
    result = metric.evaluate(len(samples) + 2)
    assert result == {f'mpii/{k}': pytest.approx(expected[k]) for k in KEYS}


def test_metric_builds_in_the_plugin_scope_and_rejects_bad_samples():
    with DefaultScope.overwrite_default_scope('aeplugin'):
        metric = METRICS.build(dict(type='MpiiMultiPersonMetric'))
    assert type(metric) is MpiiMultiPersonMetric
    sample = dict(
        img_path='x.jpg',
        pred_instances=dict(
            keypoints=np.zeros((2, 17, 2)), keypoint_scores=np.zeros((2, 17))
        ),
        raw_ann_info=[],
    )
    with pytest.raises(ValueError, match=r'\(P, 16, 2\), got shape'):
        metric.process({}, [sample])
    sample['pred_instances'] = dict(
        keypoints=np.zeros((2, 16, 2)), keypoint_scores=np.zeros((2, 17))
    )
    with pytest.raises(ValueError, match='keypoint_scores'):
        metric.process({}, [sample])
    del sample['raw_ann_info']
    sample['pred_instances']['keypoint_scores'] = np.zeros((2, 16))
    with pytest.raises(ValueError, match='no raw_ann_info'):
        metric.process({}, [sample])
    with pytest.raises(ValueError, match='threshold'):
        MpiiMultiPersonMetric(threshold=0)

    from_file = MpiiMultiPersonMetric(ann_file=str(MMPOSE_LAYOUT))
    with pytest.raises(ValueError, match="'x.jpg' is not in ann_file"):
        from_file.process({}, [sample])


def test_prediction_file_errors_name_the_entry(tmp_path):
    names = ['a.jpg', 'b.jpg']
    person = dict(keypoints=[[1.0, 2.0, 0.5]] * 16)
    with pytest.raises(ValueError, match=r"prediction 1 \(image 'c.jpg'\)"):
        load_mpii_predictions(
            [
                dict(image='a.jpg', people=[]),
                dict(image='c.jpg', people=[person]),
            ],
            names,
        )
    with pytest.raises(
        ValueError,
        match=r"prediction 0 \(image 'b.jpg'\), person 1: `keypoints` must "
        r'list 16 MPII joints as \[x, y, score\], got 17',
    ):
        load_mpii_predictions(
            [
                dict(
                    image='b.jpg',
                    people=[person, dict(keypoints=[[1, 2, 3]] * 17)],
                )
            ],
            names,
        )
    with pytest.raises(ValueError, match='joint 3 must be'):
        bad = dict(keypoints=[[1.0, 2.0, 0.5]] * 16)
        bad['keypoints'][3] = [1.0, 2.0]
        load_mpii_predictions([dict(image='a.jpg', people=[bad])], names)
    with pytest.raises(ValueError, match='has an earlier entry'):
        load_mpii_predictions([dict(image='a.jpg', people=[])] * 2, ['a.jpg'])
    with pytest.raises(TypeError, match='must be a list'):
        load_mpii_predictions({'a.jpg': []}, names)

    path = tmp_path / 'preds.json'
    nulls = dict(keypoints=[None] * 15 + [[4.0, 5.0, 0.25]])
    path.write_text(json.dumps([dict(image='b.jpg', people=[nulls])]))
    preds = load_mpii_predictions(path, names)
    assert preds[0] is None
    assert np.isnan(preds[1]['keypoints'][0, :15]).all()
    assert preds[1]['keypoints'][0, 15].tolist() == [4.0, 5.0]
    assert preds[1]['keypoint_scores'][0, 15] == 0.25


def test_table_format():
    table = dict(zip(KEYS, [92.1, 89.3, 78.9, 69.8, 76.2, 71.6, 64.7, 77.5]))
    assert format_mpii_table(table).splitlines() == [
        '| Head | Shoulder | Elbow | Wrist | Hip | Knee | Ankle | mAP |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
        '| 92.1 | 89.3 | 78.9 | 69.8 | 76.2 | 71.6 | 64.7 | 77.5 |',
    ]


@pytest.mark.parametrize('count', [True, False])
def test_images_without_predictions_left_out_as_the_toolkit(count):
    """Ground truth as predictions, but nobody predicted in 10 images:
    misses by default, left out as evaluateAP.m with
    ``count_unpredicted_images=False`` (then 100 again)."""
    images = load(PER_PERSON)
    entries = ground_truth_as_predictions(images)
    for entry in entries[:10]:
        entry['people'] = []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        from_file = evaluate_mpii_prediction_file(
            PER_PERSON, entries, count_unpredicted_images=count
        )
        metric = MpiiMultiPersonMetric(
            ann_file=str(PER_PERSON), count_unpredicted_images=count
        )
    assert from_file['num_unpredicted_images'] == 10
    if count:
        # 10 of 100 images (21 of 213 people) missed: 90.0
        assert from_file['table']['mAP'] == pytest.approx(89.99, abs=0.01)
    else:
        assert from_file['table'] == {k: 100.0 for k in KEYS}

    preds = load_mpii_predictions(entries, [i['image'] for i in images])
    metric.process({}, _samples(images, preds, with_gt=False))
    result = metric.evaluate(len(images))
    assert result == {
        f'mpii/{k}': pytest.approx(from_file['table'][k]) for k in KEYS
    }
