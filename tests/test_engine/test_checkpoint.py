import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import aeplugin  # noqa: F401  (registers the runner checkpoint types)
from aeplugin.engine.checkpoint import history_buffer_getattr


def _runner_like_checkpoint(path):
    hub = MessageHub.get_instance('test-checkpoint-hub')
    hub.update_scalar('train/loss', np.float64(0.25))
    hub.update_scalar('train/loss', 0.5)
    hub.update_info('eta', np.float64(12.5))
    torch.save(
        dict(
            meta=dict(epoch=1, iter=4),
            state_dict=dict(w=torch.ones(2)),
            message_hub=hub.state_dict(),
        ),
        path,
    )


def test_runner_checkpoint_loads_with_weights_only(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    _runner_like_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)
    loss = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert loss.mean() == pytest.approx(0.375)
    assert ckpt['message_hub']['runtime_info']['eta'] == 12.5
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


class _Exploit:
    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_getattr_stand_in_refuses_anything_else(tmp_path):
    assert history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='only'):
        history_buffer_getattr(HistoryBuffer, '__init__')
    path = tmp_path / 'crafted.pth'
    torch.save({'x': _Exploit()}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_unknown_globals_stay_refused(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'x': pickle.PickleError('not allowed')}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
