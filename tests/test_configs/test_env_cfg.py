"""cuDNN autotuning in every GPU training config; the deterministic CPU
configs (the main job and those built on it) keep it off, since autotuned
kernels vary between runs."""

from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).parents[2]
CONFIGS = sorted((ROOT / 'configs').glob('*.py'))
MAIN_JOB = (
    ROOT / 'configs' / 'ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py'
)


@pytest.mark.parametrize('path', CONFIGS, ids=[p.stem for p in CONFIGS])
def test_autotuning_is_on_unless_the_config_is_deterministic(path):
    cfg = Config.fromfile(path)
    deterministic = cfg.get('randomness', {}).get('deterministic', False)
    assert cfg.env_cfg.cudnn_benchmark is (not deterministic)
    # merged into mmpose's env_cfg, not replacing it
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'


def test_the_main_job_is_deterministic_and_the_paper_config_autotunes():
    assert Config.fromfile(MAIN_JOB).env_cfg.cudnn_benchmark is False
    paper = ROOT / 'configs' / 'ae_hourglass-4stack_8xb6-300e_coco-512x512.py'
    assert Config.fromfile(paper).env_cfg.cudnn_benchmark is True
