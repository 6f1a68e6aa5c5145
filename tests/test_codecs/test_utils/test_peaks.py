import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aeplugin.codecs.utils import max_filter, peaks, top_candidates


@pytest.mark.parametrize('kernel', [1, 3, 5, 7])
@pytest.mark.parametrize('shape', [(2, 3, 17, 23), (1, 2, 3, 2), (1, 1, 1, 9)])
def test_max_filter_equals_max_pool(kernel, shape):
    maps = torch.randn(shape, generator=torch.Generator().manual_seed(kernel))
    expected = F.max_pool2d(
        F.pad(maps, (kernel // 2,) * 4, value=float('-inf')), kernel, 1
    )
    assert torch.equal(max_filter(maps, kernel), expected)


@pytest.mark.parametrize('chunk_elements', [1 << 20, 300])
def test_top_candidates_equal_topk_of_nms_peaks(chunk_elements, monkeypatch):
    """Whether the maps are filtered all at once or one per chunk, the
    candidates are the top-k of the NMS peaks, non-peaks far below them,
    with their tags (channel ``l*K + k``)."""
    monkeypatch.setattr(peaks, 'CPU_NMS_CHUNK_ELEMENTS', chunk_elements)
    generator = torch.Generator().manual_seed(0)
    B, K, H, W, L = 2, 3, 12, 10, 2
    heatmaps = torch.rand(B, K, H, W, generator=generator)
    tags = torch.randn(B, K * L, H, W, generator=generator)

    vals, pixels, cand_tags = top_candidates(heatmaps, tags, L, 40, 5)

    pooled = F.max_pool2d(F.pad(heatmaps, (2,) * 4, value=-1e9), 5, 1)
    expected = torch.lerp(heatmaps, pooled, -1e30).flatten(2).topk(40)
    np.testing.assert_array_equal(vals, expected.values.numpy())
    np.testing.assert_array_equal(pixels, expected.indices.numpy())
    flat_tags = tags.view(B, L, K, H * W).permute(0, 2, 3, 1)
    np.testing.assert_array_equal(
        cand_tags,
        flat_tags.gather(2, expected.indices[..., None].expand(-1, -1, -1, L)),
    )
