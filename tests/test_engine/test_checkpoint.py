import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import aeplugin  # noqa: F401  (registers the runner checkpoint types)
from aeplugin.engine.checkpoint import (
    check_checkpoint_complete,
    checkpoint_problem,
    find_resumable_checkpoint,
    history_buffer_getattr,
)


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


def _save(path, value):
    torch.save(
        dict(meta=dict(epoch=value), state_dict=dict(w=torch.ones(64))), path
    )


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_checkpoint_problem_finds_truncated_files(tmp_path):
    good = tmp_path / 'epoch_1.pth'
    _save(good, 1)
    assert checkpoint_problem(str(good)) is None
    _save(tmp_path / 'epoch_2.pth', 2)
    _truncate(tmp_path / 'epoch_2.pth')
    (tmp_path / 'empty.pth').write_bytes(b'')
    assert 'truncated' in checkpoint_problem(str(tmp_path / 'epoch_2.pth'))
    assert checkpoint_problem(str(tmp_path / 'empty.pth')) == 'is empty'
    assert checkpoint_problem(str(tmp_path / 'no.pth')) == 'does not exist'
    # what mmengine's resume meets in such a file: an error from torch's zip
    # reader that names no file
    with pytest.raises(RuntimeError, match='central directory'):
        torch.load(tmp_path / 'epoch_2.pth', weights_only=True)
    with pytest.raises(ValueError, match='epoch_2.pth is truncated'):
        check_checkpoint_complete(str(tmp_path / 'epoch_2.pth'))


def test_resume_falls_back_to_the_newest_complete_checkpoint(tmp_path, caplog):
    for epoch in (1, 2, 3):
        _save(tmp_path / f'epoch_{epoch}.pth', epoch)
    _truncate(tmp_path / 'epoch_3.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    found = find_resumable_checkpoint(str(tmp_path))
    assert found == str(tmp_path / 'epoch_2.pth')
    assert torch.load(found, weights_only=True)['meta']['epoch'] == 2


def test_resume_with_no_checkpoint_starts_afresh_and_all_broken_raises(
    tmp_path,
):
    assert find_resumable_checkpoint(str(tmp_path)) is None
    _save(tmp_path / 'epoch_1.pth', 1)
    _truncate(tmp_path / 'epoch_1.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    with pytest.raises(ValueError, match='no complete checkpoint'):
        find_resumable_checkpoint(str(tmp_path))
    # an empty pointer (killed while writing it) falls back as well
    _save(tmp_path / 'iter_7.pth', 7)
    (tmp_path / 'last_checkpoint').write_text('')
    assert find_resumable_checkpoint(str(tmp_path)) == str(
        tmp_path / 'iter_7.pth'
    )
