"""mmpose's own tools/train.py (from its installed package) trains the main
job's config as ours does: the same losses and weights."""

import re
import subprocess
import sys
from pathlib import Path

import mmpose
import pytest
import torch
from test_apis.tiny_model import ROOT

import aeplugin  # noqa: F401  (lets torch.load read runner checkpoints)

CONFIG = 'configs/ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py'
MMPOSE_TRAIN = Path(mmpose.__file__).parent / '.mim/tools/train.py'
FAST = [
    'train_cfg.max_epochs=1',
    'model.backbone.feat_channels=16',
    'model.backbone.increase=8',
    'train_dataloader.dataset.indices=2',
    'train_dataloader.batch_size=2',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'default_hooks.logger.interval=1',
]


def _train(tool, work_dir):
    result = subprocess.run(
        [
            sys.executable,
            str(tool),
            CONFIG,
            '--work-dir',
            str(work_dir),
            '--cfg-options',
            *FAST,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    log = result.stdout + result.stderr
    return [float(v) for v in re.findall(r' loss: ([0-9.e+-]+)', log)]


@pytest.mark.slow
def test_mmpose_train_tool_trains_as_ours(tmp_path):
    ours = _train(ROOT / 'tools' / 'train.py', tmp_path / 'ours')
    theirs = _train(MMPOSE_TRAIN, tmp_path / 'theirs')
    assert len(ours) == 1 and theirs == ours
    weights = [
        torch.load(tmp_path / run / 'epoch_1.pth', weights_only=True)
        for run in ('ours', 'theirs')
    ]
    assert weights[1]['meta']['iter'] == 1
    for name, value in weights[0]['state_dict'].items():
        torch.testing.assert_close(
            weights[1]['state_dict'][name], value, rtol=0, atol=0
        )
