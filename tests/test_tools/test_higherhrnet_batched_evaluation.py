"""tools/test.py evaluates a HigherHRNet in batches with the predictions
and the AP of batch 1 (flip and multi-scale test, oneDNN off as in
test_batched_evaluation.py)."""

import pytest
from test_apis.tiny_higherhrnet import write_tiny_higher_config
from test_apis.tiny_model import save_random_checkpoint

from .test_batched_evaluation import _assert_exactly_as_batch_1, _batch_1_and_4


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp('tiny_higher')
    config = write_tiny_higher_config(folder)
    return config, save_random_checkpoint(config, folder / 'tiny.pth')


@pytest.mark.slow
@pytest.mark.parametrize(
    'flags', [['--tta', 'flip'], ['--tta', 'multiscale']], ids=['flip', 'ms']
)
def test_batch_4_predicts_as_batch_1(tiny, tmp_path, flags):
    one, batched = _batch_1_and_4(tiny, tmp_path, flags, ())
    _assert_exactly_as_batch_1(one, batched)
    assert len(batched['predictions']) == 4
