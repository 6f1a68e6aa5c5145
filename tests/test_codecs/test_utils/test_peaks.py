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


def _expected_candidates(heatmaps, tags, L, k, kernel, threshold):
    """The top-k NMS peaks above the threshold by torch's max pooling and
    a stable sort of whole maps; -inf after them."""
    B, K, H, W = heatmaps.shape
    pooled = F.max_pool2d(
        F.pad(heatmaps, (kernel // 2,) * 4, value=-1e9), kernel, 1
    )
    masked = torch.where(
        (heatmaps == pooled) & (heatmaps > threshold),
        heatmaps,
        float('-inf'),
    ).flatten(2)
    vals, pixels = masked.sort(dim=-1, descending=True, stable=True)
    vals, pixels = vals[..., :k].numpy(), pixels[..., :k].numpy()
    flat_tags = tags.view(B, L, K, H * W).permute(0, 2, 3, 1).numpy()
    cand_tags = np.take_along_axis(flat_tags, pixels[..., None], axis=2)
    return vals, pixels, cand_tags


@pytest.mark.parametrize('lower_peaks', [True, False])
@pytest.mark.parametrize('kernel', [3, 5])
@pytest.mark.parametrize(
    'size, path',
    [((32, 64), 'tiles'), ((12, 10), 'whole'), ((32, 64), 'whole')],
)
def test_top_candidates_equal_sorted_nms_peaks_above_threshold(
    lower_peaks, kernel, size, path, monkeypatch
):
    """On sparse maps with plateaus (equal values in a window, ranked by
    position), a shoulder and peaks at the borders, both the tile search
    and the whole-map NMS give the top-k peaks above the threshold, with
    their tags (channel ``l*K + k``); a map without enough ends with
    -inf."""
    if path == 'whole':
        monkeypatch.setattr(peaks, 'SPARSE_NMS_MAX_FRACTION', -1.0)
    searched = []
    tile_peaks = peaks.tile_peaks
    monkeypatch.setattr(
        peaks,
        'tile_peaks',
        lambda *args: searched.append(tile_peaks(*args)) or searched[-1],
    )
    generator = torch.Generator().manual_seed(kernel)
    B, K, L = 2, 3, 2
    H, W = size
    heatmaps = (torch.rand(B, K, H, W, generator=generator) * 4).floor() / 4
    # Mostly background below the threshold; a few bumps and plateaus.
    heatmaps *= torch.rand(B, K, H, W, generator=generator) < 0.005
    heatmaps[0, 0, 0, 0] = 0.9
    heatmaps[0, 0, -1, -1] = 0.9
    heatmaps[1, 1, 5:8, 5:8] = 0.75
    # A shoulder above the threshold next to a higher peak: no peak.
    heatmaps[0, 1, 6, 3:5] = torch.tensor([0.5, 1.0])
    heatmaps[1, 2] = 0.0
    tags = torch.randn(B, K * L, H, W, generator=generator)

    vals, pixels, cand_tags = top_candidates(
        heatmaps, tags, L, 12, kernel, 0.3, lower_peaks
    )

    expected = _expected_candidates(heatmaps, tags, L, 12, kernel, 0.3)
    above = expected[0] > -np.inf
    assert above.sum() > 6 and not above[1, 2].any()
    used_tiles = bool(searched) and searched[-1] is not None
    assert used_tiles == (path == 'tiles')
    if lower_peaks:
        # After the candidates: peaks at or below the threshold (the
        # fill's bound), or pixel 0 where the search found none.
        pooled = F.max_pool2d(
            F.pad(heatmaps, (kernel // 2,) * 4, value=-1e9), kernel, 1
        ).flatten(2)
        rest = pixels[~above]
        is_peak = np.take_along_axis(
            (heatmaps.flatten(2) == pooled).numpy(), pixels, axis=2
        )[~above]
        assert (is_peak | (rest == 0)).all() and is_peak.sum() > 10
    np.testing.assert_array_equal(vals, expected[0])
    np.testing.assert_array_equal(pixels[above], expected[1][above])
    np.testing.assert_array_equal(cand_tags[above], expected[2][above])


def test_tile_peaks_returns_none_when_most_tiles_are_above_threshold():
    maps = torch.rand(2, 16, 64, generator=torch.Generator().manual_seed(0))
    assert peaks.tile_peaks(maps, 5, -1.0, True) is None
    found = peaks.tile_peaks(maps, 5, 2.0, True)
    assert all(len(part) == 0 for part in found)


def _stable_top(values, k):
    """The k largest values of each row, the first position among equal
    values, by a stable sort of the whole row."""
    top, positions = values.sort(dim=1, descending=True, stable=True)
    return top[:, :k].numpy(), positions[:, :k].numpy()


@pytest.mark.parametrize(
    'rows, length, k', [(5, 1000, 10), (3, 4096, 7), (2, 130, 1), (1, 7, 5)]
)
def test_top_values_rank_equal_values_by_position(rows, length, k):
    """Coarsely quantized values tie within and across strips (and at the
    k-th value); the strip pre-selection must keep every tied value and
    rank equal values by position, as a stable sort of the row does, with
    -0.0 equal to 0.0 and rows padded to whole strips, or of few strips."""
    generator = torch.Generator().manual_seed(length)
    values = (torch.rand(rows, length, generator=generator) * 8).floor()
    values[0, ::7] = -float('inf')
    values[-1] = -0.0
    values[-1, ::3] = 0.0
    assert cut_strips(values).shape[1] > k or length == 7

    top, positions = peaks.top_values(values, k)

    expected_top, expected_positions = _stable_top(values, k)
    np.testing.assert_array_equal(top.numpy(), expected_top)
    np.testing.assert_array_equal(positions.numpy(), expected_positions)
