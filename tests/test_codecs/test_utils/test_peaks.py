import pytest
import torch
import torch.nn.functional as F

from aeplugin.codecs.utils import max_filter


@pytest.mark.parametrize('kernel', [1, 3, 5, 7])
@pytest.mark.parametrize('shape', [(2, 3, 17, 23), (1, 2, 3, 2), (1, 1, 1, 9)])
def test_max_filter_equals_max_pool(kernel, shape):
    maps = torch.randn(shape, generator=torch.Generator().manual_seed(kernel))
    expected = F.max_pool2d(
        F.pad(maps, (kernel // 2,) * 4, value=float('-inf')), kernel, 1
    )
    assert torch.equal(max_filter(maps, kernel), expected)
