"""tools/test.py: the test-time flags reach the config, and a multi-scale
evaluation of a tiny random checkpoint writes COCO results."""

import importlib.util
import json
import re
import subprocess
import sys

import pytest
from mmengine.config import Config
from test_apis.tiny_model import (
    COCO,
    ROOT,
    save_random_checkpoint,
    write_tiny_config,
)

CONFIG = ROOT / 'configs' / 'ae_hourglass-4stack_8xb6-300e_coco-512x512.py'


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'aeplugin_tools_test', ROOT / 'tools' / 'test.py'
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _load_tool()


def _cfg(*flags):
    args = TOOL.parse_args([str(CONFIG), 'ckpt.pth', *flags])
    return TOOL.merge_args(Config.fromfile(CONFIG), args)


def _resize(cfg):
    return cfg.test_dataloader.dataset.pipeline[1]


def test_no_flag_keeps_the_config():
    cfg = _cfg()
    assert cfg.model.test_cfg.flip_test is True
    assert 'multiscale_test' not in cfg.model.test_cfg
    assert _resize(cfg).type == 'BottomupResize'
    assert 'refine' not in cfg.model.head.decoder
    assert cfg.load_from == 'ckpt.pth'


@pytest.mark.parametrize(
    'flags, flip, multiscale, scales',
    [
        (['--tta', 'none'], False, False, None),
        (['--tta', 'flip'], True, False, None),
        (['--no-flip'], False, False, None),
        (['--tta', 'multiscale'], True, True, [2.0, 1.0, 0.5]),
        (['--tta', 'multiscale', '--no-flip'], False, True, [2.0, 1.0, 0.5]),
        (
            ['--tta', 'multiscale', '--scales', '1', '0.5'],
            True,
            True,
            [1, 0.5],
        ),
    ],
)
def test_tta_flags(flags, flip, multiscale, scales):
    cfg = _cfg(*flags)
    assert cfg.model.test_cfg.flip_test is flip
    assert cfg.model.test_cfg.get('multiscale_test', False) is multiscale
    if multiscale:
        assert _resize(cfg).type == 'BottomupMultiScaleResize'
        assert _resize(cfg).scales == scales
        assert cfg.model.type == 'MultiScaleBottomupPoseEstimator'
    else:
        assert _resize(cfg).type == 'BottomupResize'
        assert cfg.model.type == 'BottomupPoseEstimator'


@pytest.mark.parametrize('name', ['refine', 'adjust'])
def test_decoder_switches(name):
    assert _cfg(f'--no-{name}').model.head.decoder[name] is False
    assert _cfg(f'--{name}').model.head.decoder[name] is True


def test_json_prefix_and_cfg_options_come_before_the_test_time_options():
    cfg = _cfg(
        '--json-prefix',
        'out/results',
        '--tta',
        'multiscale',
        '--cfg-options',
        'test_dataloader.dataset.pipeline.1.input_size=(256,256)',
    )
    assert cfg.test_evaluator.outfile_prefix == 'out/results'
    # the multi-scale resize kept the overridden size
    assert _resize(cfg).input_size == (256, 256)


def test_bad_flag_combinations_are_errors():
    with pytest.raises(ValueError, match="need tta='multiscale'"):
        _cfg('--scales', '1', '0.5')
    with pytest.raises(ValueError, match='contradicts'):
        _cfg('--tta', 'flip', '--no-flip')
    with pytest.raises(SystemExit):
        TOOL.parse_args([str(CONFIG), 'ckpt.pth', '--tta', 'multi'])


@pytest.mark.slow
def test_multiscale_evaluation_writes_coco_results(tmp_path):
    config = write_tiny_config(tmp_path)
    checkpoint = save_random_checkpoint(config, tmp_path / 'tiny.pth')
    prefix = tmp_path / 'results'
    result = subprocess.run(
        [
            sys.executable,
            'tools/test.py',
            str(config),
            str(checkpoint),
            '--work-dir',
            str(tmp_path / 'work'),
            '--tta',
            'multiscale',
            '--scales',
            '1',
            '0.5',
            '--json-prefix',
            str(prefix),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert re.search(r'^\| coco/AP \| [0-9.]+ \|$', out, re.M), out[-2000:]

    detections = json.loads(prefix.with_suffix('.keypoints.json').read_text())
    image_ids = {
        image['id']
        for image in json.loads((COCO / 'test_coco.json').read_text())[
            'images'
        ]
    }
    # at most 3 people per image (the tiny config), found on every image
    assert 0 < len(detections) <= 3 * len(image_ids)
    assert {d['image_id'] for d in detections} == image_ids
    for d in detections:
        assert set(d) == {'image_id', 'category_id', 'keypoints', 'score'}
        assert d['category_id'] == 1
        assert len(d['keypoints']) == 51
        assert all(isinstance(v, float) for v in d['keypoints'])
        assert isinstance(d['score'], float)
