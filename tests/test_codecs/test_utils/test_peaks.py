import numpy as np
import pytest
import torch
import torch.nn.functional as F

from aeplugin.codecs.utils import max_filter, peaks, top_candidates
from aeplugin.codecs.utils.strips import cut_strips


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


def _stable_top(values, k):
    """The k largest values of each row, the first position among equal
    values, by a stable sort of the whole row."""
    top, positions = values.sort(dim=1, descending=True, stable=True)
    return top[:, :k].numpy(), positions[:, :k].numpy()


@pytest.mark.parametrize('on_device', [False, True], ids=['cpu', 'device'])
@pytest.mark.parametrize(
    'rows, length, k', [(5, 1000, 10), (3, 4096, 7), (2, 130, 1)]
)
def test_top_values_rank_equal_values_by_position(on_device, rows, length, k):
    """Coarsely quantized values tie within and across strips (and at the
    k-th value); the strip pre-selection must keep every tied value and
    rank equal values by position, as a stable sort of the row does, with
    -0.0 equal to 0.0 and rows padded to whole strips. ``device`` runs the
    torch path that maps on a GPU take."""
    generator = torch.Generator().manual_seed(length)
    values = (torch.rand(rows, length, generator=generator) * 8).floor()
    values[0, ::7] = -float('inf')
    values[-1] = -0.0
    values[-1, ::3] = 0.0
    if on_device:
        cut = cut_strips(values, float('-inf'))
        strip_max = cut.amax(dim=-1)
        top, positions = peaks.top_values_in_strips(
            cut, strip_max >= strip_max.topk(k).values[:, -1:], k
        )
    else:
        top, positions = peaks.top_values(values, k)

    expected_top, expected_positions = _stable_top(values, k)
    np.testing.assert_array_equal(top, expected_top)
    np.testing.assert_array_equal(positions, expected_positions)


def test_top_values_of_rows_of_few_strips_sort_them_whole():
    """Rows of at most k strips are ranked whole, by the same rule."""
    values = torch.tensor([[1.0, 3.0, 3.0, -0.0, 0.0, 2.0, 3.0]])
    top, positions = peaks.top_values(values, 5)
    np.testing.assert_array_equal(top, [[3.0, 3.0, 3.0, 2.0, 1.0]])
    np.testing.assert_array_equal(positions, [[1, 2, 6, 5, 0]])
