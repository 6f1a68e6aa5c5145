"""Distributed training and evaluation with 2 CPU processes (gloo), against
one process; a checkpoint of another architecture given to tools/test.py."""

import os
import pickle
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import aeplugin  # noqa: F401  (lets torch.load read runner checkpoints)
from aeplugin.registry import MODELS

ROOT = Path(__file__).parents[2]
CONFIG = 'configs/ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py'
MODEL = [
    'model.backbone.num_stacks=1',
    'model.backbone.feat_channels=16',
    'model.backbone.increase=8',
    'model.backbone.stem_channels=(8,16)',
]
# 4 images in 2 iterations per epoch either way; no BN (batch statistics
# would differ between 1 and 2 images), no flip (each process draws its
# own), the same shuffle seed
TRAIN = [
    *MODEL,
    'model.backbone.norm_cfg=None',
    'train_dataloader.dataset.pipeline.2.prob=0.0',
    'train_dataloader.dataset.indices=4',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'train_dataloader.sampler.seed=0',
    'train_cfg.max_epochs=2',
    'default_hooks.checkpoint.interval=1',
    'default_hooks.logger.interval=1',
    'randomness.seed=0',
]
# an odd number of images over 2 processes; every candidate kept, so that
# the random model predicts people
TEST = [
    *MODEL,
    'test_dataloader.dataset.indices=3',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'model.head.decoder.decode_keypoint_thr=0.0',
]


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def _start(args, **env):
    return subprocess.Popen(
        args,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            'OMP_NUM_THREADS': '1',
            'PYTHON': sys.executable,
            'PORT': _free_port(),
            **env,
        },
    )


def _finish(process, expect_rc=0):
    log, _ = process.communicate(timeout=300)
    assert process.returncode == expect_rc, log[-3000:]
    return log


def _finish_torchrun(process, args, work_dir):
    """Wait for a torchrun job; start it again (in a clean ``work_dir``)
    once if a process aborted in C++ ('terminate called without an active
    exception'), as happened twice in about 40 runs on this shared 2-core
    machine and in none of 24 further runs, with the plugin's hooks or
    mmengine's; the cause is unknown."""
    log, _ = process.communicate(timeout=300)
    if process.returncode and 'terminate called without an active' in log:
        shutil.rmtree(work_dir, ignore_errors=True)
        process = _start(args)
        log, _ = process.communicate(timeout=300)
    assert process.returncode == 0, log[-3000:]
    return log


def _weights(path):
    return torch.load(path, weights_only=True)['state_dict']


@pytest.mark.slow
def test_two_processes_train_as_one_with_twice_the_batch(tmp_path):
    two, one = tmp_path / 'two', tmp_path / 'one'
    distributed_args = [
        'bash',
        'tools/dist_train.sh',
        CONFIG,
        '2',
        '--work-dir',
        str(two),
        '--no-validate',
        '--cfg-options',
        'train_dataloader.batch_size=1',
        *TRAIN,
    ]
    distributed = _start(distributed_args)
    single = _start(
        [
            sys.executable,
            'tools/train.py',
            CONFIG,
            '--work-dir',
            str(one),
            '--no-validate',
            '--cfg-options',
            'train_dataloader.batch_size=2',
            *TRAIN,
        ]
    )
    log = _finish_torchrun(distributed, distributed_args, two)
    _finish(single)
    assert 'Distributed training: True' in log
    for epoch in (1, 2):
        a, b = (
            _weights(two / f'epoch_{epoch}.pth'),
            _weights(one / f'epoch_{epoch}.pth'),
        )
        for key in a:
            assert torch.allclose(a[key], b[key], rtol=1e-5, atol=1e-7), (
                epoch,
                key,
                (a[key] - b[key]).abs().max().item(),
            )
    # and the second epoch did change the weights
    first = _weights(one / 'epoch_1.pth')
    second = _weights(one / 'epoch_2.pth')
    moved = max((second[k] - first[k]).abs().max().item() for k in first)
    assert moved > 1e-4

    # rank 0 alone logs and saves: one log file, one line per iteration and
    # one save per epoch in the output of both processes
    assert len(list(two.glob('*/*.log'))) == 1
    assert len(re.findall(r'Epoch\(train\) +\[\d\]\[\d/2\]', log)) == 4
    assert log.count('Saving checkpoint at') == 2
    scalars = list(two.glob('*/vis_data/scalars.json'))
    assert len(scalars) == 1 and len(scalars[0].read_text().splitlines()) == 4


def _checkpoint(path, **backbone):
    cfg = Config.fromfile(ROOT / CONFIG)
    cfg.model.backbone.update(
        num_stacks=1, feat_channels=16, increase=8, stem_channels=(8, 16)
    )
    cfg.model.backbone.update(backbone)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('aeplugin'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), path)
    return str(path)


@pytest.mark.slow
def test_distributed_evaluation_gathers_each_prediction_once(tmp_path):
    ckpt = _checkpoint(tmp_path / 'tiny.pth')
    other = _checkpoint(tmp_path / 'other.pth', num_stacks=2, feat_channels=24)
    two, one = tmp_path / 'two.pkl', tmp_path / 'one.pkl'
    distributed_args = [
        'bash',
        'tools/dist_test.sh',
        CONFIG,
        ckpt,
        '2',
        '--work-dir',
        str(tmp_path / 'two'),
        '--out',
        str(two),
        '--cfg-options',
        *TEST,
    ]
    distributed = _start(distributed_args)
    single = _start(
        [
            sys.executable,
            'tools/test.py',
            CONFIG,
            ckpt,
            '--work-dir',
            str(tmp_path / 'one'),
            '--out',
            str(one),
            '--cfg-options',
            *TEST,
        ]
    )
    # a checkpoint of another architecture: the list of keys, no evaluation
    mismatched = _start(
        [
            sys.executable,
            'tools/test.py',
            CONFIG,
            other,
            '--work-dir',
            str(tmp_path / 'other'),
            '--cfg-options',
            *TEST,
        ]
    )
    log_two = _finish_torchrun(distributed, distributed_args, tmp_path / 'two')
    log_one = _finish(single)
    mismatched = _finish(mismatched, expect_rc=1)
    assert f'ValueError: {other} does not match the model' in mismatched
    assert '104 checkpoint weights the model does not have' in mismatched
    assert '81 weights of another shape' in mismatched
    assert 'coco/AP' not in mismatched

    preds_two = pickle.loads(two.read_bytes())
    preds_one = pickle.loads(one.read_bytes())
    # once each: 2 + 1 images on the two ranks, no padding duplicates
    assert len(preds_two) == 3
    assert [p['img_id'] for p in preds_two] == [p['img_id'] for p in preds_one]
    assert len({p['img_id'] for p in preds_two}) == 3
    for a, b in zip(preds_two, preds_one):
        for key in ('keypoints', 'keypoint_scores', 'bbox_scores'):
            x, y = a['pred_instances'][key], b['pred_instances'][key]
            assert len(x) == 30
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-4)

    def ap(log):
        return re.findall(r'\| coco/AP \| ([0-9.]+) \|', log)

    # (0 for a random model: the predictions above carry the comparison)
    assert ap(log_two) == ap(log_one) and len(ap(log_one)) == 1
