"""ShapeGroupedBatchSampler batches images of one input shape, each index
once, alone or over several ranks; group_batches orders its batches."""

import math

import pytest
from mmengine.config import Config
from mmengine.dataset import DefaultSampler
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from aeplugin.datasets.samplers import ShapeGroupedBatchSampler, group_batches
from aeplugin.registry import DATA_SAMPLERS

from ..utils import REPO_ROOT, coco_mini_dataset
from .test_input_shapes import pipeline_of

EXPAND = pipeline_of('expand 512')


@pytest.fixture(scope='module')
def dataset():
    with DefaultScope.overwrite_default_scope('aeplugin'):
        return coco_mini_dataset(EXPAND, test_mode=True)


def _shape(dataset, index):
    return tuple(dataset[index]['inputs'].shape[-2:])


def _sampler(dataset, monkeypatch, rank=0, world_size=1, round_up=False):
    monkeypatch.setattr(
        'mmengine.dataset.sampler.get_dist_info', lambda: (rank, world_size)
    )
    return DefaultSampler(dataset, shuffle=False, round_up=round_up)


def test_group_batches_fills_in_order_and_ends_with_the_rest():
    items = [('a', 0), ('b', 1), ('a', 2), ('a', 3), ('b', 4), ('c', 5)]
    assert list(group_batches(items, 2)) == [[0, 2], [1, 4], [3], [5]]
    assert list(group_batches(items, 2, drop_last=True)) == [[0, 2], [1, 4]]
    assert list(group_batches(items, None)) == [[0, 2, 3], [1, 4], [5]]
    assert list(group_batches([], 3)) == []


def test_batches_hold_one_shape_and_every_index_once(dataset, monkeypatch):
    sampler = _sampler(dataset, monkeypatch)
    batches = list(ShapeGroupedBatchSampler(sampler, batch_size=4))
    assert sorted(i for batch in batches for i in batch) == list(
        range(len(dataset))
    )
    shapes = [{_shape(dataset, i) for i in batch} for batch in batches]
    assert all(len(s) == 1 for s in shapes)
    # the 28 images have several shapes, the landscape 384x256 most
    counts = {}
    for batch, (shape,) in zip(batches, shapes):
        counts[shape] = counts.get(shape, 0) + len(batch)
    assert len(counts) >= 3 and max(counts.values()) >= 8
    assert len(batches) == sum(math.ceil(n / 4) for n in counts.values())
    assert len(ShapeGroupedBatchSampler(sampler, 4)) == len(batches)
    assert all(len(batch) <= 4 for batch in batches)
    # within a batch the indices keep their order
    assert all(batch == sorted(batch) for batch in batches)


def test_batch_size_1_is_the_sampler_order(dataset, monkeypatch):
    sampler = _sampler(dataset, monkeypatch)
    batch_sampler = ShapeGroupedBatchSampler(sampler, batch_size=1)
    assert list(batch_sampler) == [[i] for i in range(len(dataset))]
    assert len(batch_sampler) == len(dataset)
    # nothing was predicted: batch 1 works on any dataset
    assert batch_sampler._input_shapes is None


def test_drop_last_leaves_out_each_shape_incomplete_batch(
    dataset, monkeypatch
):
    sampler = _sampler(dataset, monkeypatch)
    batches = list(ShapeGroupedBatchSampler(sampler, 4, drop_last=True))
    assert batches and all(len(batch) == 4 for batch in batches)
    assert len(ShapeGroupedBatchSampler(sampler, 4, True)) == len(batches)


def test_two_ranks_share_the_images_once(dataset, monkeypatch):
    shares = []
    for rank in (0, 1):
        sampler = _sampler(dataset, monkeypatch, rank, world_size=2)
        batch_sampler = ShapeGroupedBatchSampler(sampler, batch_size=3)
        batches = list(batch_sampler)
        assert len(batch_sampler) == len(batches)
        indices = [i for batch in batches for i in batch]
        # each rank batches its own share of DefaultSampler's split
        assert sorted(indices) == list(range(rank, len(dataset), 2))
        assert all(
            len({_shape(dataset, i) for i in batch}) == 1 for batch in batches
        )
        shares += indices
    assert sorted(shares) == list(range(len(dataset)))


def test_a_sampler_that_repeats_images_over_ranks_is_refused(
    dataset, monkeypatch
):
    sampler = _sampler(dataset, monkeypatch, 0, world_size=2, round_up=True)
    with pytest.raises(ValueError, match='round_up=False'):
        ShapeGroupedBatchSampler(sampler, batch_size=2)
    # at batch 1 nothing is reordered
    ShapeGroupedBatchSampler(sampler, batch_size=1)


def test_a_dataset_without_a_pipeline_is_refused_above_batch_1():
    sampler = DefaultSampler(list(range(5)), shuffle=False)
    assert len(list(ShapeGroupedBatchSampler(sampler, 1))) == 5
    with pytest.raises(ValueError, match='pipeline'):
        list(ShapeGroupedBatchSampler(sampler, 2))


def test_the_coco_config_loader_batches_by_shape():
    cfg = Config.fromfile(
        REPO_ROOT / 'configs/ae_hourglass-4stack_8xb6-300e_coco-512x512.py'
    )
    loader = cfg.test_dataloader
    assert loader.batch_size == 1
    assert loader.batch_sampler.type == 'ShapeGroupedBatchSampler'
    assert DATA_SAMPLERS.get('ShapeGroupedBatchSampler') is (
        ShapeGroupedBatchSampler
    )
    loader.update(batch_size=4, num_workers=0, persistent_workers=False)
    loader.dataset.update(
        data_root=str(REPO_ROOT / 'data/coco-mini'),
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
    )
    dataloader = Runner.build_dataloader(loader)
    assert isinstance(dataloader.batch_sampler, ShapeGroupedBatchSampler)
    seen = []
    for batch in dataloader:
        shapes = {tuple(x.shape) for x in batch['inputs']}
        assert len(shapes) == 1
        seen += [s.metainfo['img_id'] for s in batch['data_samples']]
    assert len(seen) == len(set(seen)) == 28
