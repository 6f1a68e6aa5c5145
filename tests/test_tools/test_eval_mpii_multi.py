"""tools/analysis/eval_mpii_multi.py end to end on the real MPII
annotations of tests/data/mpii-multi."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from aeplugin.datasets.mpii_multi_person_annotations import (
    load_mpii_multi_person,
)

ROOT = Path(__file__).parents[2]
ANN = ROOT / 'tests' / 'data' / 'mpii-multi' / 'mpii_annotations.json'
KEYS = ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'mAP']


def _run(*args):
    return subprocess.run(
        [sys.executable, 'tools/analysis/eval_mpii_multi.py', *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _predictions():
    """Ground truth as predictions, but the first image's first person has
    its right ankle 200 px off."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        images = load_mpii_multi_person(ANN)
    preds = []
    for image in images:
        people = []
        for joints, visible in zip(
            image['keypoints'].tolist(), image['keypoints_visible']
        ):
            people.append(
                dict(
                    keypoints=[
                        [x, y, 1.0] if v else None
                        for (x, y), v in zip(joints, visible)
                    ]
                )
            )
        preds.append(dict(image=image['image'], people=people))
    preds[0]['people'][0]['keypoints'][0][0] += 200.0
    return preds, images


@pytest.mark.slow
def test_prints_the_table_and_writes_json(tmp_path):
    preds, images = _predictions()
    pred_file = tmp_path / 'preds.json'
    pred_file.write_text(json.dumps(preds))
    out_json = tmp_path / 'table.json'
    result = _run(ANN, pred_file, '--out-json', out_json)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == '| ' + ' | '.join(KEYS) + ' |'

    table = json.loads(out_json.read_text())
    assert list(table) == KEYS
    right_ankles = sum(
        int(image['keypoints_visible'][:, 0].sum()) for image in images
    )
    # one right ankle of the ranking is a false positive, one is missed:
    # every score is 1, so the stable ranking puts it first, precision
    # n / (n + 1) from there on, recall (n - 1) / n
    n = right_ankles
    right_ankle_ap = 100.0 * (n - 1) / n * (n - 1) / n
    assert abs(table['Ankle'] - (right_ankle_ap + 100.0) / 2) < 1e-6
    assert {k: v for k, v in table.items() if k not in ('Ankle', 'mAP')} == (
        dict.fromkeys(KEYS[:6], 100.0)
    )
    assert lines[2].split(' | ')[-1] == f'{table["mAP"]:.1f} |'
    assert lines[3] == (
        'warning: 213 of 213 ground-truth people have no head box: head '
        'size approximated as 0.8485 x |head top - upper neck|'
    )


@pytest.mark.slow
def test_bad_predictions_exit_with_a_message(tmp_path):
    preds, _ = _predictions()
    preds.append(dict(image='not_annotated.jpg', people=[]))
    pred_file = tmp_path / 'preds.json'
    pred_file.write_text(json.dumps(preds))
    result = _run(ANN, pred_file)
    assert result.returncode == 1
    assert result.stderr.endswith(
        "error: prediction 100 (image 'not_annotated.jpg'): the image is "
        'not in the annotations\n'
    )
