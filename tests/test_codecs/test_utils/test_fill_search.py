import pytest
import torch

from aeplugin.codecs.utils import fill_search, search_fill_pixels


def _full_search(heatmaps, tags, pair_maps, pair_tags):
    """The first pixel in raster order of least round(tag distance) * 100
    - heat, by brute force over every pixel."""
    B, K, H, W = heatmaps.shape
    L = pair_tags.shape[1]
    flat_heat = heatmaps.reshape(B * K, H * W)[pair_maps]
    flat_tags = (
        tags.view(B, L, K, H * W).transpose(1, 2).reshape(B * K, L, H * W)
    )
    distances = torch.linalg.vector_norm(
        flat_tags[pair_maps] - pair_tags[:, :, None], dim=1
    )
    return (distances.round() * 100 - flat_heat).argmin(dim=1)


@pytest.mark.parametrize('num_tag_dims', [1, 2, 8])
@pytest.mark.parametrize('shape', [(2, 3, 37, 45), (1, 2, 16, 16)])
def test_fill_search_equals_full_search(num_tag_dims, shape):
    """The pruned search must pick the same pixel as the full argmin of
    round(tag distance) * 100 - heatmap, including its first-in-raster-order
    choice among ties (provoked by coarsely quantized maps)."""
    generator = torch.Generator().manual_seed(num_tag_dims)
    B, K, H, W = shape
    L = num_tag_dims
    heatmaps = (torch.rand(shape, generator=generator) * 10).round() / 10
    tags = (torch.randn((B, K * L, H, W), generator=generator) * 2).round()
    num_pairs = 40
    pair_maps = torch.randint(0, B * K, (num_pairs,), generator=generator)
    pair_tags = torch.randn((num_pairs, L), generator=generator) * 2
    pair_tags[::3] = pair_tags[::3].round()
    cand_pixels = torch.randint(0, H * W, (B, K, 5), generator=generator)

    found = search_fill_pixels(
        heatmaps, tags, pair_maps, pair_tags, cand_pixels
    )

    assert torch.equal(
        found, _full_search(heatmaps, tags, pair_maps, pair_tags)
    )


def test_fill_search_in_small_chunks_equals_full_search(monkeypatch):
    """With chunks of a few hundred floats, pairs, strips and mixed strips
    are processed over many chunks and the costs of the first pass are not
    all kept for the second: the result must not change. Strips of 8
    pixels on 8x9 maps make a padded last strip."""
    monkeypatch.setattr(fill_search, 'CPU_CHUNK_ELEMENTS', 300)
    monkeypatch.setattr(fill_search, 'FILL_STRIP', 8)
    generator = torch.Generator().manual_seed(7)
    B, K, H, W, L = 3, 4, 8, 9, 2
    heatmaps = (torch.rand(B, K, H, W, generator=generator) * 10).round() / 10
    tags = (torch.randn(B, K * L, H, W, generator=generator) * 2).round()
    num_pairs = 90
    pair_maps = torch.randint(0, B * K, (num_pairs,), generator=generator)
    pair_tags = torch.randn((num_pairs, L), generator=generator) * 2
    cand_pixels = torch.randint(0, H * W, (B, K, 3), generator=generator)

    found = search_fill_pixels(
        heatmaps, tags, pair_maps, pair_tags, cand_pixels
    )

    expected = _full_search(heatmaps, tags, pair_maps, pair_tags)
    assert torch.equal(found, expected)
