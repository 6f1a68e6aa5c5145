"""mmpose's test flags on tools/test.py (--out metrics, --dump predictions,
--show-dir pictures), and mmpose's own tools/test.py on the main job's
config: the same metrics and pictures read back."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import cv2
import mmengine
import mmpose
import numpy as np
import pytest
from mmengine.config import Config
from test_apis.test_mmpose_inferencer import (
    KPT_THR,
    MAIN_JOB,
    SEED,
    last_drawn_keypoint,
)
from test_apis.tiny_model import ROOT, save_random_checkpoint

from aeplugin.apis import draw_poses

MMPOSE_TEST = Path(mmpose.__file__).parent / '.mim/tools/test.py'
# three images, no workers; pictures of keypoints above KPT_THR (the random
# model's scores are about 0.12)
FAST = [
    'test_dataloader.dataset.indices=3',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    f'default_hooks.visualization.kpt_thr={KPT_THR}',
]


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'aeplugin_tools_test_flags', ROOT / 'tools' / 'test.py'
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _load_tool()


def _cfg(*flags):
    args = TOOL.parse_args([str(MAIN_JOB), 'ckpt.pth', *flags])
    return TOOL.merge_args(Config.fromfile(MAIN_JOB), args)


def test_show_flags_enable_the_visualization_hook():
    hook = _cfg().default_hooks.visualization
    assert hook.type == 'BottomupVisualizationHook'
    assert hook.get('enable', False) is False
    hook = _cfg(
        '--show-dir', 'vis', '--interval', '3', '--show', '--wait-time', '2'
    ).default_hooks.visualization
    assert (hook.enable, hook.out_dir, hook.interval) == (True, 'vis', 3)
    assert (hook.show, hook.wait_time) == (True, 2)


def test_dump_adds_the_predictions_dump_and_out_does_not():
    evaluators = _cfg('--dump', 'p.pkl', '--out', 'm.json').test_evaluator
    assert [e['type'] for e in evaluators] == ['CocoMetric', 'DumpResults']
    assert evaluators[1]['out_file_path'] == 'p.pkl'
    assert _cfg('--out', 'm.json').test_evaluator['type'] == 'CocoMetric'


@pytest.mark.parametrize(
    'flags, message',
    [
        # --out once wrote the predictions: a pickle name is refused with
        # the flag that writes them now
        (['--out', 'preds.pkl'], '--dump preds.pkl'),
        (['--out', 'metrics.txt'], '.json or .yaml or .yml'),
        (['--dump', 'preds.json'], 'name it .pkl'),
        (['--interval', '0'], '--interval must be >= 1'),
    ],
)
def test_bad_output_flags_are_errors(flags, message, capsys):
    with pytest.raises(SystemExit):
        TOOL.parse_args([str(MAIN_JOB), 'ckpt.pth', *flags])
    assert message in capsys.readouterr().err


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp('main_job')
    return save_random_checkpoint(MAIN_JOB, folder / 'random.pth', SEED)


def _test(tool, checkpoint, work_dir, *flags):
    result = subprocess.run(
        [
            sys.executable,
            str(tool),
            str(MAIN_JOB),
            str(checkpoint),
            '--work-dir',
            str(work_dir),
            *flags,
            '--cfg-options',
            *FAST,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    return result.stdout + result.stderr


def _pictures(work_dir, show_dir):
    """The pictures under WORK_DIR/TIMESTAMP/SHOW_DIR, by file name."""
    return {p.name: p for p in Path(work_dir).glob(f'*/{show_dir}/*.jpg')}


def _check_picture(path, prediction, dataset_meta):
    """The picture is the drawing of ``prediction`` (a ``--dump`` record)
    on its image, read back from a JPEG."""
    people = mmengine.ConfigDict(prediction['pred_instances'])
    assert len(people.keypoints) > 0
    image = cv2.imread(prediction['img_path']).astype(int)
    written = cv2.imread(str(path)).astype(int)
    assert written.shape == image.shape
    sample = mmpose.structures.PoseDataSample()
    sample.pred_instances = mmengine.structures.InstanceData(
        keypoints=people.keypoints, keypoint_scores=people.keypoint_scores
    )
    drawn = draw_poses(
        prediction['img_path'], sample, dataset_meta, kpt_thr=KPT_THR
    ).astype(int)
    changed = (drawn != image).any(axis=-1)
    assert changed.sum() > 100
    to_drawing = np.abs(written - drawn)[changed].mean()
    to_image = np.abs(written - image)[changed].mean()
    assert to_drawing < 0.5 * to_image, (to_drawing, to_image)
    # the keypoint drawn last is in its colour
    x, y, k = last_drawn_keypoint(people, KPT_THR, image.shape)
    colour = np.array(dataset_meta['keypoint_colors'][k][::-1])
    assert (
        np.abs(written[y, x] - colour).max()
        < np.abs(image[y, x] - colour).max()
    )
    assert np.abs(written[y, x] - colour).max() <= 40


@pytest.mark.slow
def test_out_dump_and_show_dir(checkpoint, tmp_path):
    """Ours, then mmpose's tools/test.py with the same flags: the same
    metrics, predictions and pictures."""
    log = _test(
        ROOT / 'tools' / 'test.py',
        checkpoint,
        tmp_path / 'ours',
        '--out',
        str(tmp_path / 'ours.json'),
        '--dump',
        str(tmp_path / 'ours.pkl'),
        '--show-dir',
        'vis',
        '--interval',
        '2',
    )
    metrics = json.loads((tmp_path / 'ours.json').read_text())
    assert f'| coco/AP | {metrics["coco/AP"]:.4f} |' in log
    predictions = mmengine.load(tmp_path / 'ours.pkl')
    assert len(predictions) == 3
    names = [Path(p['img_path']).name for p in predictions]
    # every second image: the 1st and the 3rd
    pictures = _pictures(tmp_path / 'ours', 'vis')
    assert sorted(pictures) == sorted([names[0], names[2]])
    dataset_meta = mmpose.datasets.datasets.utils.parse_pose_metainfo(
        dict(from_file='configs/_base_/datasets/coco.py')
    )
    for prediction in (predictions[0], predictions[2]):
        _check_picture(
            pictures[Path(prediction['img_path']).name],
            prediction,
            dataset_meta,
        )

    flags = [
        '--out',
        str(tmp_path / 'theirs.json'),
        '--dump',
        str(tmp_path / 'theirs.pkl'),
        '--show-dir',
        'vis',
    ]
    _test(MMPOSE_TEST, checkpoint, tmp_path / 'theirs', *flags)
    assert json.loads((tmp_path / 'theirs.json').read_text()) == metrics
    theirs = mmengine.load(tmp_path / 'theirs.pkl')
    for a, b in zip(theirs, predictions):
        np.testing.assert_array_equal(
            a['pred_instances']['keypoints'], b['pred_instances']['keypoints']
        )
    pictures = _pictures(tmp_path / 'theirs', 'vis')
    assert sorted(pictures) == sorted(names)
    _check_picture(pictures[names[1]], predictions[1], dataset_meta)
