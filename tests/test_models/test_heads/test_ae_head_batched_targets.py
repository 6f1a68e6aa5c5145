"""The batched-target training step (bottomup_collate +
BottomupDataPreprocessor + the head's tensor path) is the per-sample step
of mmpose's data flow, with a few transfers and no host synchronisation."""

from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from aeplugin.datasets import bottomup_collate
from aeplugin.registry import DATASETS, MODELS
from aeplugin.testing import count_transfers_and_syncs, randomize_weights_

ROOT = Path(__file__).parents[3]
CONFIG = ROOT / 'configs' / 'ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py'


@pytest.fixture(scope='module')
def tiny():
    """The main job's model (random weights, no batch norm updates) and 4
    training samples of its pipeline, drawn with a fixed seed."""
    cfg = Config.fromfile(CONFIG)
    with DefaultScope.overwrite_default_scope('aeplugin'):
        model = MODELS.build(cfg.model)
        dataset = DATASETS.build(
            dict(
                cfg.train_dataloader.dataset,
                data_root=str(ROOT / cfg.data_root),
            )
        )
    randomize_weights_(model, seed=0)
    model.eval()  # batch norm in eval mode: both steps see the same stats
    np.random.seed(0)
    samples = [dataset[i] for i in range(4)]
    return cfg, model, samples


def _per_sample_preprocessor(cfg):
    """mmpose's data flow: its data preprocessor on pseudo_collate'd
    samples, every target field moved on its own."""
    with DefaultScope.overwrite_default_scope('aeplugin'):
        return MODELS.build(
            dict(
                cfg.model.data_preprocessor, type='mmpose.PoseDataPreprocessor'
            )
        )


def _losses_and_grads(model, data):
    model.zero_grad()
    losses = model(**data, mode='loss')
    sum(losses.values()).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    return {k: v.detach() for k, v in losses.items()}, grads


def test_batched_targets_give_the_per_sample_losses_and_gradients(tiny):
    cfg, model, samples = tiny
    batch = samples[:4]
    per_sample = _per_sample_preprocessor(cfg)(pseudo_collate(batch), True)
    batched = model.data_preprocessor(bottomup_collate(batch), True)
    assert isinstance(batched['data_samples'], dict)
    assert torch.equal(per_sample['inputs'], batched['inputs'])

    losses_a, grads_a = _losses_and_grads(model, per_sample)
    losses_b, grads_b = _losses_and_grads(model, batched)
    assert (
        losses_a.keys()
        == losses_b.keys()
        == {
            'loss_kpt',
            'loss_pull',
            'loss_push',
        }
    )
    for name in losses_a:
        assert losses_a[name] > 0, name
        torch.testing.assert_close(
            losses_b[name], losses_a[name], rtol=1e-6, atol=0
        )
    assert all(g.abs().sum() > 0 for g in grads_a.values())
    for name, grad in grads_a.items():
        torch.testing.assert_close(grads_b[name], grad, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize('batch_size', [2, 4])
def test_a_step_makes_few_copies_and_syncs_whatever_the_batch(
    tiny, batch_size
):
    """What a training step would copy to a GPU and wait for there: a
    handful with batched targets, whatever the batch size; one copy per
    target field of every sample with mmpose's data flow."""
    cfg, model, samples = tiny
    batch = samples[:batch_size]
    optim_wrapper = _optim_wrapper(cfg, model)

    # collating runs in the data loader's workers, on the host
    data = bottomup_collate(batch)
    with count_transfers_and_syncs() as batched:
        model.train_step(data, optim_wrapper)
    assert batched.host_to_device <= 4, batched
    # the non-finite loss check reads its flags back once
    assert batched.syncs <= 1, batched.sync_ops

    model.data_preprocessor, ours = (
        _per_sample_preprocessor(cfg),
        (model.data_preprocessor),
    )
    try:
        data = pseudo_collate(batch)
        with count_transfers_and_syncs() as per_sample:
            model.train_step(data, optim_wrapper)
    finally:
        model.data_preprocessor = ours
    # the image and the 4 target fields of every sample
    assert per_sample.host_to_device >= 5 * batch_size, per_sample
    assert per_sample.syncs > batched.syncs, per_sample.sync_ops


def _optim_wrapper(cfg, model):
    """The config's optimizer wrapper with SGD: Adam reads its step
    counters back, which on a GPU are host tensors (no wait), but on the
    CPU the counter cannot tell them from device reads."""
    from mmengine.optim import build_optim_wrapper

    with DefaultScope.overwrite_default_scope('aeplugin'):
        return build_optim_wrapper(
            model,
            dict(cfg.optim_wrapper, optimizer=dict(type='SGD', lr=1e-3)),
        )
