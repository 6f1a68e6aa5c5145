"""tools/analysis/eval_mpii_multi.py --no-count-unpredicted-images: the
official evaluateAP.m's scoring of images where nobody is predicted."""

import json

import pytest

from tools.analysis.eval_mpii_multi import main

from .test_eval_mpii_multi import ANN, KEYS, _predictions


def test_no_count_unpredicted_images_scores_as_evaluate_ap(tmp_path, capsys):
    # ground truth as predictions; no entry for the first image (whose
    # right ankle _predictions puts 200 px off)
    preds, _ = _predictions()
    pred_file = tmp_path / 'preds.json'
    pred_file.write_text(json.dumps(preds[1:]))
    tables = {}
    for flag in (
        '--count-unpredicted-images',
        '--no-count-unpredicted-images',
    ):
        out = tmp_path / f'{flag}.json'
        main([str(ANN), str(pred_file), flag, '--out-json', str(out)])
        tables[flag] = json.loads(out.read_text())
        assert 'no person is predicted in 1 annotated image: ' in (
            capsys.readouterr().out
        )
    # that image's 2 people (of 213) missed, or left out as the toolkit
    assert tables['--no-count-unpredicted-images'] == dict.fromkeys(
        KEYS, 100.0
    )
    counted = tables['--count-unpredicted-images']
    assert counted['Head'] == pytest.approx(100 * 211 / 213)
    assert 98.0 < counted['mAP'] < 99.5
