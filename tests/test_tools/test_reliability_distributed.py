"""Distributed training and evaluation on CPU (gloo): 1 node x 2 processes
(tools/dist_*.sh) against 1 process with twice the batch; 2 nodes x 1
process and 2 Slurm tasks (tools/slurm_*.sh under a stub srun) against 1
node x 2 processes; a rank killed mid-epoch, then ``--resume``; a
checkpoint of another architecture given to tools/test.py."""

import pickle
import re

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import aeplugin  # noqa: F401  (lets torch.load read runner checkpoints)
from aeplugin.registry import MODELS

from .distributed_runs import (
    CONFIG,
    INJECT_SITE,
    ROOT,
    SLURM_ENV,
    TEST,
    TRAIN,
    Run,
    assert_same_weights,
    dist_tool,
    python_tool,
    slurm_tool,
    weights,
)

# one launcher job a name: (the output of its 2 processes, its launcher)
LAUNCHERS = dict(two_nodes='pytorch', slurm='slurm')


def _train_options(batch_size, *extra):
    return [
        '--no-validate',
        *extra,
        '--cfg-options',
        f'train_dataloader.batch_size={batch_size}',
        *TRAIN,
    ]


def _dist_train(work_dir, nodes, *extra, env=None):
    """2 processes of batch 1 on 1 node, or 1 each on 2 nodes."""
    return Run(
        dist_tool(
            'train',
            CONFIG,
            str(2 // nodes),
            '--work-dir',
            str(work_dir),
            *_train_options(1, *extra),
        ),
        work_dir=work_dir,
        nodes=nodes if nodes > 1 else None,
        env=env,
    )


@pytest.fixture(scope='module')
def training(tmp_path_factory):
    """The training runs that the tests below compare, started at once;
    each test waits for those it reads."""
    root = tmp_path_factory.mktemp('training')
    runs = dict(
        one_node=_dist_train(root / 'one_node', nodes=1),
        two_nodes=_dist_train(root / 'two_nodes', nodes=2),
        slurm=Run(
            slurm_tool(
                'train', CONFIG, str(root / 'slurm'), *_train_options(1)
            ),
            work_dir=root / 'slurm',
            env=SLURM_ENV,
        ),
        single=Run(
            python_tool(
                'train',
                CONFIG,
                '--work-dir',
                str(root / 'single'),
                *_train_options(2),
            )
        ),
    )
    yield root, runs
    for run in runs.values():
        run.stop()


def _assert_rank_0_logged_and_saved(log, work_dir):
    """Rank 0 alone logs and saves: one log file, one line per iteration
    and one save per epoch in the output of both processes."""
    assert 'Distributed training: True' in log
    assert len(list(work_dir.glob('*/*.log'))) == 1
    assert len(re.findall(r'Epoch\(train\) +\[\d\]\[\d/2\]', log)) == 4
    assert log.count('Saving checkpoint at') == 2
    scalars = list(work_dir.glob('*/vis_data/scalars.json'))
    assert len(scalars) == 1 and len(scalars[0].read_text().splitlines()) == 4


@pytest.mark.slow
def test_two_processes_train_as_one_with_twice_the_batch(training):
    root, runs = training
    log = runs['one_node'].finish()
    runs['single'].finish()
    for epoch in (1, 2):
        assert_same_weights(
            weights(root / 'one_node' / f'epoch_{epoch}.pth'),
            weights(root / 'single' / f'epoch_{epoch}.pth'),
        )
    # and the second epoch did change the weights
    first = weights(root / 'single' / 'epoch_1.pth')
    second = weights(root / 'single' / 'epoch_2.pth')
    moved = max((second[k] - first[k]).abs().max().item() for k in first)
    assert moved > 1e-4
    _assert_rank_0_logged_and_saved(log, root / 'one_node')


@pytest.mark.slow
@pytest.mark.parametrize('job', LAUNCHERS)
def test_two_nodes_or_slurm_tasks_train_as_one_node(training, job):
    """2 nodes x 1 process (two torchruns: NNODES=2, NODE_RANK=0 and 1) and
    2 tasks of ``srun`` reach the weights of 1 node x 2 processes after
    each epoch: the same 2 ranks, whichever way started."""
    root, runs = training
    log = runs[job].finish()
    runs['one_node'].finish()
    assert f'Distributed launcher: {LAUNCHERS[job]}' in log
    for epoch in (1, 2):
        assert_same_weights(
            weights(root / job / f'epoch_{epoch}.pth'),
            weights(root / 'one_node' / f'epoch_{epoch}.pth'),
        )
    _assert_rank_0_logged_and_saved(log, root / job)
    if job == 'two_nodes':
        node_0, node_1 = runs[job].logs
        assert 'Epoch(train)' in node_0 and 'Epoch(train)' not in node_1


def _kill_time(log):
    return float(re.search(r'fault_injection: SIGKILL at ([0-9.]+)', log)[1])


@pytest.mark.slow
def test_a_killed_rank_stops_the_job_and_resume_ends_as_uninterrupted(
    training, tmp_path
):
    """Rank 1 killed (SIGKILL) in the last iteration of epoch 2: on 1 node
    torchrun ends the other worker; over 2 nodes the worker of node 0 fails
    in its next collective (gloo sees the connection reset), long before any
    process-group timeout. Both nodes resumed end with the weights of a run
    that was never killed."""
    kill = dict(PYTHONPATH=INJECT_SITE, AE_FAULT_RANK='1', AE_KILL_AT_ITER='3')
    one_node = _dist_train(tmp_path / 'one_node', nodes=1, env=kill)
    two_nodes = _dist_train(tmp_path / 'two_nodes', nodes=2, env=kill)

    log = one_node.finish(expect_rc=1)
    assert 'exitcode  : -9' in log and '(SIGKILL)' in log
    assert 'rank      : 1 (local_rank: 1)' in log
    one_node_exit = max(one_node.ended) - _kill_time(log)

    log = two_nodes.finish(expect_rc=1)
    node_0, node_1 = two_nodes.logs
    assert 'exitcode  : -9' in node_1
    # gloo's transport error: 'Connection reset by peer' or 'closed by
    # peer', by the timing of the kill
    assert '[rank0]: RuntimeError: [' in node_0
    assert 'gloo/transport/tcp' in node_0
    two_nodes_exit = max(two_nodes.ended) - _kill_time(log)
    # shown with -s (docs/reliability.md quotes a run)
    print(
        f'exit after the kill: {one_node_exit:.1f} s on 1 node, '
        f'{two_nodes_exit:.1f} s over 2 nodes'
    )
    assert 0 < one_node_exit < 30 and 0 < two_nodes_exit < 30
    work_dir = tmp_path / 'two_nodes'
    assert (work_dir / 'last_checkpoint').read_text() == str(
        work_dir / 'epoch_1.pth'
    )

    log = _dist_train(work_dir, 2, '--resume').finish()
    assert 'resumed epoch: 1, iter: 2' in log
    root, runs = training
    runs['single'].finish()
    assert_same_weights(
        weights(work_dir / 'epoch_2.pth'),
        weights(root / 'single' / 'epoch_2.pth'),
    )


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


@pytest.fixture(scope='module')
def evaluation(tmp_path_factory):
    """The evaluation runs that the tests below compare, started at once."""
    root = tmp_path_factory.mktemp('evaluation')
    ckpt = _checkpoint(root / 'tiny.pth')
    other = _checkpoint(root / 'other.pth', num_stacks=2, feat_channels=24)

    def options(name, out=True):
        return [
            '--work-dir',
            str(root / name),
            *(['--dump', str(root / f'{name}.pkl')] if out else []),
            '--cfg-options',
            *TEST,
        ]

    runs = dict(
        one_node=Run(dist_tool('test', CONFIG, ckpt, '2', *options('one'))),
        two_nodes=Run(
            dist_tool('test', CONFIG, ckpt, '1', *options('two_nodes')),
            nodes=2,
        ),
        slurm=Run(
            slurm_tool('test', CONFIG, ckpt, *options('slurm')),
            env=SLURM_ENV,
        ),
        single=Run(python_tool('test', CONFIG, ckpt, *options('single'))),
        # a checkpoint of another architecture: the list of keys, no
        # evaluation
        mismatched=Run(
            python_tool('test', CONFIG, other, *options('other', out=False))
        ),
    )
    yield root, other, runs
    for run in runs.values():
        run.stop()


def _ap(log):
    return re.findall(r'\| coco/AP \| ([0-9.]+) \|', log)


def _assert_same_predictions(path, reference):
    """Each image's prediction once, as in the single process."""
    preds = pickle.loads(path.read_bytes())
    expected = pickle.loads(reference.read_bytes())
    # once each: 2 + 1 images on the two ranks, no padding duplicates
    assert len(preds) == 3
    assert [p['img_id'] for p in preds] == [p['img_id'] for p in expected]
    assert len({p['img_id'] for p in preds}) == 3
    for a, b in zip(preds, expected):
        for key in ('keypoints', 'keypoint_scores', 'bbox_scores'):
            x, y = a['pred_instances'][key], b['pred_instances'][key]
            assert len(x) == 30
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-4)


@pytest.mark.slow
def test_distributed_evaluation_gathers_each_prediction_once(evaluation):
    root, other, runs = evaluation
    log_two = runs['one_node'].finish()
    log_one = runs['single'].finish()
    mismatched = runs['mismatched'].finish(expect_rc=1)
    assert f'ValueError: {other} does not match the model' in mismatched
    assert '104 checkpoint weights the model does not have' in mismatched
    assert '81 weights of another shape' in mismatched
    assert 'coco/AP' not in mismatched

    _assert_same_predictions(root / 'one.pkl', root / 'single.pkl')
    # (0 for a random model: the predictions above carry the comparison)
    assert _ap(log_two) == _ap(log_one) and len(_ap(log_one)) == 1


@pytest.mark.slow
@pytest.mark.parametrize('job', LAUNCHERS)
def test_two_nodes_or_slurm_tasks_evaluate_as_one_process(evaluation, job):
    root, _, runs = evaluation
    log = runs[job].finish()
    log_one = runs['single'].finish()
    assert f'Distributed launcher: {LAUNCHERS[job]}' in log
    _assert_same_predictions(root / f'{job}.pkl', root / 'single.pkl')
    assert _ap(log) == _ap(log_one) and len(_ap(log_one)) == 1
