"""cuDNN autotuning in every GPU training config, not in the deterministic
main job."""

from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).parents[2]
MAIN_JOB = 'ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py'
GPU_CONFIGS = sorted(
    p for p in (ROOT / 'configs').glob('*.py') if p.name != MAIN_JOB
)


@pytest.mark.parametrize(
    'path', GPU_CONFIGS, ids=[p.stem for p in GPU_CONFIGS]
)
def test_gpu_configs_autotune_cudnn(path):
    cfg = Config.fromfile(path)
    assert cfg.env_cfg.cudnn_benchmark is True
    # merged into mmpose's env_cfg, not replacing it
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'


def test_the_deterministic_main_job_does_not():
    cfg = Config.fromfile(ROOT / 'configs' / MAIN_JOB)
    assert cfg.randomness.deterministic is True
    assert cfg.env_cfg.cudnn_benchmark is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
