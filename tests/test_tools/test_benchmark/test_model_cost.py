import pytest

from tools.benchmark.model_cost import REPO, model_cost

TINY = REPO / 'configs' / 'ae_higherhrnet-tiny_1xb4-400e_coco-mini-384x256.py'


def test_counts_the_tiny_higherhrnet():
    small, large = model_cost(TINY, 64), model_cost(TINY, 128)
    assert small['params'] == large['params'] == 1_264_963
    # aggregated outputs at 1/2 of the input
    assert small['outputs'] == [[1, 17, 32, 32]] * 2
    # every counted op (convolutions) scales with the pixels
    assert large['gmacs'] == pytest.approx(4 * small['gmacs'], rel=1e-9)
    # its final 1x1 conv alone: 16 -> 34 channels at 16x16
    assert small['gmacs'] > 16 * 34 * 16 * 16 / 1e9
