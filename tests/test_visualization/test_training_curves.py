import json
import subprocess
import sys
from pathlib import Path

import pytest

from aeplugin.visualization import load_scalars, plot_training_curves

ROOT = Path(__file__).parents[2]


def _write_run(work_dir, stamp, train_iters, val_epochs):
    vis = work_dir / stamp / 'vis_data'
    vis.mkdir(parents=True)
    lines = [
        json.dumps(
            dict(
                loss=1.0 / i,
                loss_kpt=0.5 / i,
                loss_pull=0.1 / i,
                loss_push=0.01,
                iter=i,
                epoch=1,
                lr=1e-3,
            )
        )
        for i in train_iters
    ]
    lines += [
        json.dumps({'coco/AP': e / 10, 'coco/AR': e / 9, 'step': e})
        for e in val_epochs
    ]
    (vis / 'scalars.json').write_text('\n'.join(lines) + '\n')


def test_resumed_runs_are_merged_in_order(tmp_path):
    _write_run(tmp_path, '20260101_000000', [1, 2, 3], [1])
    # resumed from iteration 2: its records replace the first run's
    _write_run(tmp_path, '20260101_010000', [3, 4], [2])
    scalars = load_scalars(tmp_path)
    assert [r['iter'] for r in scalars['train']] == [1, 2, 3, 4]
    assert [r['step'] for r in scalars['val']] == [1, 2]
    assert scalars['val'][1]['coco/AP'] == pytest.approx(0.2)


def test_plot_writes_a_png(tmp_path):
    _write_run(tmp_path, '20260101_000000', range(1, 20), [1, 2])
    out = plot_training_curves(tmp_path, tmp_path / 'curves.png')
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


@pytest.mark.slow
def test_tool_writes_next_to_the_run(tmp_path):
    _write_run(tmp_path, '20260101_000000', range(1, 5), [])
    subprocess.run(
        [sys.executable, 'tools/analysis/plot_log.py', str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert (tmp_path / 'training_curves.png').stat().st_size > 1000


def test_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        load_scalars(tmp_path)
    vis = tmp_path / 'run' / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text('{"loss": 1, "iter": 1}\nnot json\n')
    with pytest.raises(ValueError, match='scalars.json:2: not JSON'):
        load_scalars(tmp_path)
