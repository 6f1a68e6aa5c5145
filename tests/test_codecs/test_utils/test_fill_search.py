import numpy as np
import pytest
import torch

from aeplugin.codecs.utils import fill_search, search_fill_pixels, strips
from aeplugin.codecs.utils.fill_search import search_dense, search_on_device
from aeplugin.codecs.utils.fill_search_cpu import search_on_cpu
from aeplugin.testing import MapNoise, render_ae_maps


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


def _dense_search(heatmaps, tags, pair_maps, pair_tags, cand_pixels):
    return search_dense(heatmaps, tags, pair_maps, pair_tags)


# Each of the three searches on its own, and the choice among them.
SEARCHES = pytest.mark.parametrize(
    'search',
    [search_fill_pixels, search_on_cpu, search_on_device, _dense_search],
    ids=['chosen', 'cpu', 'device', 'dense'],
)


@SEARCHES
@pytest.mark.parametrize('num_tag_dims', [1, 2, 8])
@pytest.mark.parametrize('shape', [(2, 3, 37, 45), (1, 2, 16, 16)])
def test_fill_search_equals_full_search(search, num_tag_dims, shape):
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

    found = search(heatmaps, tags, pair_maps, pair_tags, cand_pixels)

    assert torch.equal(
        found, _full_search(heatmaps, tags, pair_maps, pair_tags)
    )


@SEARCHES
def test_fill_search_in_small_chunks_equals_full_search(search, monkeypatch):
    """With chunks of a few hundred floats, pairs, strips and maps are
    processed over many chunks: the result must not change. Strips of 8
    pixels on 8x9 maps make a padded last strip."""
    monkeypatch.setattr(strips, 'CPU_CHUNK_ELEMENTS', 300)
    monkeypatch.setattr(strips, 'STRIP_LENGTH', 8)
    generator = torch.Generator().manual_seed(7)
    B, K, H, W, L = 3, 4, 8, 9, 2
    heatmaps = (torch.rand(B, K, H, W, generator=generator) * 10).round() / 10
    tags = (torch.randn(B, K * L, H, W, generator=generator) * 2).round()
    num_pairs = 90
    pair_maps = torch.randint(0, B * K, (num_pairs,), generator=generator)
    pair_tags = torch.randn((num_pairs, L), generator=generator) * 2
    cand_pixels = torch.randint(0, H * W, (B, K, 3), generator=generator)

    found = search(heatmaps, tags, pair_maps, pair_tags, cand_pixels)

    expected = _full_search(heatmaps, tags, pair_maps, pair_tags)
    assert torch.equal(found, expected)


def _crowded_inputs(num_tag_dims, seed, quantize=False):
    """Two noisy crowded maps (14 people, 8 false peaks per keypoint type,
    30% missing and 30% weak keypoints) and pairs as a decode makes them:
    about 25 groups per image, most missing many keypoints, with tags near
    their person's, between people or far from all.

    Note:

        - batch size: 2
        - keypoint number: 5
        - heatmap size: [61, 45] (not a multiple of the strip length)
    """
    rng = np.random.default_rng(seed)
    B, K, H, W, L = 2, 5, 45, 61, num_tag_dims
    noise = MapNoise(false_peaks=8, drop_prob=0.3, weaken_prob=0.3)
    heatmaps, tags, pair_maps, pair_tags = [], [], [], []
    for b in range(B):
        person_tags = rng.normal(0, 4, (14, L))
        heatmap, tag = render_ae_maps(
            rng.uniform((0, 0), (W - 1, H - 1), (14, K, 2)),
            (W, H),
            person_tags=person_tags,
            noise=noise,
            seed=seed * 10 + b,
        )
        heatmaps.append(heatmap)
        tags.append(tag)
        group_tags = np.concatenate(
            [
                person_tags + rng.normal(0, 0.2, person_tags.shape),
                rng.normal(0, 6, (11, L)),
            ]
        )
        missing = rng.random((len(group_tags), K)) < 0.6
        groups, types = np.nonzero(missing)
        pair_maps.append(b * K + types)
        pair_tags.append(group_tags[groups])
    heatmaps, tags = (torch.from_numpy(np.stack(x)) for x in (heatmaps, tags))
    pair_tags = torch.from_numpy(np.concatenate(pair_tags)).float()
    if quantize:
        # Equal costs everywhere: ties between pixels and between strips.
        heatmaps = (heatmaps * 10).round() / 10
        tags = tags.round()
        pair_tags = pair_tags.round()
    flat = heatmaps.flatten(2)
    cand_pixels = flat.topk(4, dim=-1).indices
    return (
        heatmaps,
        tags,
        torch.from_numpy(np.concatenate(pair_maps)),
        pair_tags,
        cand_pixels,
    )


@SEARCHES
@pytest.mark.parametrize('quantize', [False, True], ids=['noisy', 'ties'])
@pytest.mark.parametrize('num_tag_dims', [1, 2, 8])
def test_fill_search_on_crowded_maps_equals_full_search(
    search, num_tag_dims, quantize
):
    """Many groups, most of them partial, on crowded noisy maps: hundreds
    of pairs, strips crossing people everywhere, pairs whose best pixel
    lies outside every peak (between people, in the background), and with
    quantized maps ties between pixels of one strip and of different
    strips."""
    inputs = _crowded_inputs(num_tag_dims, num_tag_dims, quantize)
    heatmaps, tags, pair_maps, pair_tags, _ = inputs
    assert len(pair_maps) > 100

    found = search(*inputs)

    assert torch.equal(
        found, _full_search(heatmaps, tags, pair_maps, pair_tags)
    )


@SEARCHES
def test_fill_search_on_crowded_maps_in_small_chunks(search, monkeypatch):
    """The crowded case over many chunks of every pass, with strips of 16
    pixels: the result must not change."""
    monkeypatch.setattr(strips, 'CPU_CHUNK_ELEMENTS', 500)
    monkeypatch.setattr(strips, 'STRIP_LENGTH', 16)
    heatmaps, tags, pair_maps, pair_tags, cand_pixels = _crowded_inputs(
        1, seed=3
    )

    found = search(heatmaps, tags, pair_maps, pair_tags, cand_pixels)

    assert torch.equal(
        found, _full_search(heatmaps, tags, pair_maps, pair_tags)
    )


def test_fill_search_without_pairs():
    heatmaps = torch.rand(1, 2, 8, 8)
    found = search_fill_pixels(
        heatmaps,
        torch.rand(1, 2, 8, 8),
        torch.zeros(0, dtype=torch.long),
        torch.zeros(0, 1),
        torch.zeros(1, 2, 3, dtype=torch.long),
    )
    assert found.shape == (0,)


@pytest.mark.parametrize(
    'shape, num_pairs, expected',
    [
        ((1, 17, 16, 16), 40, 'dense'),  # 40 * 256 costs: few
        ((1, 17, 64, 64), 4, 'dense'),  # a quarter as many pairs as maps
        ((1, 17, 64, 64), 40, 'strips'),
    ],
)
def test_the_search_is_chosen_by_the_work(
    shape, num_pairs, expected, monkeypatch
):
    """Few (pair, pixel) costs, or few pairs for the maps, take the full
    search; more take the strips. Both give the full search's pixels."""
    chosen = []
    for name in ('search_dense', 'search_on_cpu'):
        search = getattr(fill_search, name)

        def spy(*args, search=search, name=name):
            chosen.append(name)
            return search(*args)

        monkeypatch.setattr(fill_search, name, spy)
    generator = torch.Generator().manual_seed(num_pairs)
    B, K, H, W = shape
    heatmaps = torch.rand(shape, generator=generator)
    tags = torch.randn(shape, generator=generator)
    pair_maps = torch.randint(0, B * K, (num_pairs,), generator=generator)
    pair_tags = torch.randn(num_pairs, 1, generator=generator)
    cand_pixels = torch.randint(0, H * W, (B, K, 3), generator=generator)

    found = search_fill_pixels(
        heatmaps, tags, pair_maps, pair_tags, cand_pixels
    )

    assert chosen == [
        'search_dense' if expected == 'dense' else 'search_on_cpu'
    ]
    assert torch.equal(
        found, _full_search(heatmaps, tags, pair_maps, pair_tags)
    )
