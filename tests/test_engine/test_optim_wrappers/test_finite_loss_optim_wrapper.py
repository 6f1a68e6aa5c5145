import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import AmpOptimWrapper, OptimWrapper, build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

from aeplugin.engine.optim_wrappers import (
    FiniteLossAmpOptimWrapper,
    FiniteLossOptimWrapper,
    finite_loss_optim_wrapper,
)
from aeplugin.registry import OPTIM_WRAPPERS


class _ThreeLosses(nn.Module):
    """Returns the loss dict of a pose model, one term made non-finite."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.0, 2.0, 3.0]))

    def forward(self, bad_term=None, bad_value=float('nan')):
        losses = dict(
            loss_kpt=(self.w**2).mean(),
            loss_pull=self.w.sum() * 1e-3,
            loss_push=self.w.prod() * 1e-3,
            acc_pose=torch.tensor(float('nan')),  # not a loss: not checked
        )
        if bad_term is not None:
            losses[bad_term] = losses[bad_term] + bad_value
        return losses


def _train_step(wrapper, model, bad_term=None, bad_value=float('nan')):
    """mmengine's BaseModel.train_step, in short."""
    with wrapper.optim_context(model):
        losses = model(bad_term, bad_value)
    wrapper.update_params(sum(v for k, v in losses.items() if 'loss' in k))


@pytest.fixture
def hub(request):
    # a new instance is the current one, which the wrapper reads
    hub = MessageHub.get_instance(f'finite-loss-{request.node.name}')
    hub.update_info('iter', 4)
    hub.update_info('epoch', 1)
    return hub


def _build(model, **kwargs):
    with DefaultScope.overwrite_default_scope('aeplugin'):
        return build_optim_wrapper(
            model,
            dict(optimizer=dict(type='Adam', lr=0.1), **kwargs),
        )


def test_plain_optim_wrapper_type_gets_the_check():
    wrapper = _build(_ThreeLosses())
    assert type(wrapper) is FiniteLossOptimWrapper
    assert wrapper.nonfinite_loss == 'stop'
    with DefaultScope.overwrite_default_scope('aeplugin'):
        assert OPTIM_WRAPPERS.get('AmpOptimWrapper') is (
            FiniteLossAmpOptimWrapper
        )
        assert OPTIM_WRAPPERS.get('mmengine.OptimWrapper') is OptimWrapper
    assert issubclass(FiniteLossAmpOptimWrapper, AmpOptimWrapper)
    with pytest.raises(ValueError, match='nonfinite_loss'):
        _build(_ThreeLosses(), nonfinite_loss='ignore')


def test_stop_names_iteration_and_term_before_any_update(hub):
    model = _ThreeLosses()
    wrapper = _build(model)
    _train_step(wrapper, model)
    after_good_step = model.w.detach().clone()
    with pytest.raises(FloatingPointError) as error:
        _train_step(wrapper, model, 'loss_pull')
    message = str(error.value)
    assert 'non-finite loss at training iteration 5 (epoch 2)' in message
    assert 'loss_pull=nan' in message
    assert 'loss_kpt' not in message
    assert torch.equal(model.w.detach(), after_good_step)


def test_skip_drops_the_batch_and_counts(hub, monkeypatch):
    logged = []
    monkeypatch.setattr(
        finite_loss_optim_wrapper,
        'print_log',
        lambda msg, **kw: logged.append(msg),
    )
    model = _ThreeLosses()
    wrapper = _build(model, nonfinite_loss='skip')
    _train_step(wrapper, model)
    after_good_step = model.w.detach().clone()
    adam_steps = wrapper.optimizer.state[model.w]['step'].item()
    _train_step(wrapper, model, 'loss_push', float('inf'))
    _train_step(wrapper, model, 'loss_kpt', float('nan'))
    # no step at all: Adam's moments would move the weights even with zero
    # gradients
    assert torch.equal(model.w.detach(), after_good_step)
    assert wrapper.optimizer.state[model.w]['step'].item() == adam_steps
    assert model.w.grad is None or not model.w.grad.any()
    assert hub.get_info('nonfinite_loss_skipped') == 2
    assert logged == [
        'skipped the batch of training iteration 5 (epoch 2): non-finite '
        'loss_push=inf (1 batches skipped so far)',
        'skipped the batch of training iteration 5 (epoch 2): non-finite '
        'loss_kpt=nan (2 batches skipped so far)',
    ]
    _train_step(wrapper, model)
    assert not torch.equal(model.w.detach(), after_good_step)
    assert hub.get_info('nonfinite_loss_skipped') == 2
