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


def _record_events(monkeypatch, wrapper):
    """Record in order the wrapper's backward and step calls and the host
    reads of tensor values outside the step (torch's Adam reads its CPU
    step counters there, which are no waits on a GPU)."""
    events, reading = [], [True]
    for name in ('item', 'tolist', '__bool__', '__float__', '__int__'):

        def read(self, *args, _original=getattr(torch.Tensor, name), **kw):
            if reading[0]:
                events.append('read')
            return _original(self, *args, **kw)

        monkeypatch.setattr(torch.Tensor, name, read)
    backward, step = wrapper.backward, wrapper.step

    def recorded_backward(loss, **kwargs):
        backward(loss, **kwargs)
        events.append('backward')

    def recorded_step(**kwargs):
        events.append('step')
        reading[0] = False
        try:
            step(**kwargs)
        finally:
            reading[0] = True

    monkeypatch.setattr(wrapper, 'backward', recorded_backward)
    monkeypatch.setattr(wrapper, 'step', recorded_step)
    return events


def test_one_host_read_per_step_after_backward_is_queued(hub, monkeypatch):
    model = _ThreeLosses()
    wrapper = _build(model)
    events = _record_events(monkeypatch, wrapper)
    for _ in range(3):
        _train_step(wrapper, model)
    assert events == ['backward', 'read', 'step'] * 3


def test_skip_with_accumulation_drops_the_window(hub, monkeypatch):
    monkeypatch.setattr(
        finite_loss_optim_wrapper, 'print_log', lambda *a, **k: None
    )
    model = _ThreeLosses()
    wrapper = _build(model, nonfinite_loss='skip', accumulative_counts=2)
    events = _record_events(monkeypatch, wrapper)
    start = model.w.detach().clone()
    _train_step(wrapper, model)  # gathered, not stepped
    _train_step(wrapper, model, 'loss_pull')  # drops the window
    assert events[:4] == ['backward', 'read', 'backward', 'read']
    assert 'step' not in events
    assert torch.equal(model.w.detach(), start)
    assert model.w.grad is None or not model.w.grad.any()
    # the next window is two whole batches again
    events.clear()
    _train_step(wrapper, model)
    _train_step(wrapper, model)
    assert events == ['backward', 'read', 'backward', 'read', 'step']
    assert not torch.equal(model.w.detach(), start)
