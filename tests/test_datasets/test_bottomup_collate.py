import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from mmpose.structures import PoseDataSample

from aeplugin.datasets import bottomup_collate

K, H, W = 3, 4, 5


def _sample(
    people, seed, mask=True, size=(3, 16, 20), path='a.jpg', **extra_maps
):
    g = torch.Generator().manual_seed(seed)
    sample = PoseDataSample(metainfo=dict(img_path=path, id=seed))
    fields = dict(heatmaps=torch.rand(K, H, W, generator=g))
    if mask:
        fields['heatmap_mask'] = (torch.rand(H, W, generator=g) > 0.5).float()
    fields.update(extra_maps)
    sample.gt_fields = PixelData(**fields)
    positions = torch.randint(0, H * W, (people, K, 1), generator=g)
    visible = torch.randint(0, 2, (people, K, 1), generator=g)
    sample.gt_instance_labels = InstanceData(
        keypoint_indices=torch.cat([positions, visible], -1)
    )
    image = torch.randint(0, 255, size, dtype=torch.uint8, generator=g)
    return dict(inputs=image, data_samples=sample)


def test_stacks_targets_and_pads_people_as_unlabelled():
    batch = [_sample(1, 0), _sample(3, 1), _sample(0, 2)]
    out = bottomup_collate(batch)
    assert out['inputs'].shape == (3, 3, 16, 20)
    assert torch.equal(out['inputs'][1], batch[1]['inputs'])
    targets = out['data_samples']
    assert targets['heatmaps'].shape == (3, K, H, W)
    assert targets['heatmap_mask'].shape == (3, 1, H, W)
    assert targets['heatmap_mask'].dtype == torch.float32
    indices = targets['keypoint_indices']
    assert indices.shape == (3, 3, K, 2) and indices.dtype == torch.int64
    for i, item in enumerate(batch):
        fields = item['data_samples'].gt_fields
        assert torch.equal(targets['heatmaps'][i], fields.heatmaps)
        assert torch.equal(targets['heatmap_mask'][i], fields.heatmap_mask)
        own = item['data_samples'].gt_instance_labels.keypoint_indices
        assert torch.equal(indices[i, : len(own)], own)
        # the padded people are unlabelled at position 0
        assert not indices[i, len(own) :].any()
    # the step reads these tensors only: no metainfo crosses to it
    assert set(targets) == {'heatmaps', 'heatmap_mask', 'keypoint_indices'}


def test_every_named_map_is_stacked_under_its_name():
    maps = [torch.rand(2 * K, H, W), torch.rand(2 * K, H, W)]
    out = bottomup_collate(
        [_sample(1, i, tags_extra=m) for i, m in enumerate(maps)]
    )['data_samples']
    assert set(out) == {
        'heatmaps',
        'heatmap_mask',
        'tags_extra',
        'keypoint_indices',
    }
    assert torch.equal(out['tags_extra'], torch.stack(maps))
    assert out['tags_extra'].dtype == torch.float32


def test_maps_must_agree_and_mixed_sizes_stay_a_list():
    with pytest.raises(
        ValueError, match=r"b.jpg: gt_fields holds \['heatmaps'\] but a.jpg"
    ):
        bottomup_collate(
            [_sample(2, 0), _sample(2, 1, mask=False, path='b.jpg')]
        )
    with pytest.raises(
        ValueError,
        match=r'gt_fields.tags_extra maps .* \(2, 4, 5\) \(b.jpg\)',
    ):
        bottomup_collate(
            [
                _sample(1, 0, tags_extra=torch.rand(2, H, W), path='b.jpg'),
                _sample(1, 1, tags_extra=torch.rand(K, H, W)),
            ]
        )
    out = bottomup_collate([_sample(2, 0), _sample(2, 1, size=(3, 8, 20))])
    assert [tuple(x.shape) for x in out['inputs']] == [(3, 16, 20), (3, 8, 20)]


def test_bad_targets_name_the_image():
    outside = _sample(2, 0, path='outside.jpg')
    indices = outside['data_samples'].gt_instance_labels.keypoint_indices
    indices[1, 2] = torch.tensor([H * W, 1])
    with pytest.raises(
        ValueError, match='outside.jpg: person 1 .* keypoint 2'
    ):
        bottomup_collate([_sample(1, 1), outside])
    # an unlabelled keypoint may lie anywhere
    indices[1, 2, 1] = 0
    bottomup_collate([_sample(1, 1), outside])

    unencoded = _sample(1, 2, path='raw.jpg')
    del unencoded['data_samples'].gt_instance_labels
    with pytest.raises(ValueError, match='raw.jpg: a training sample needs'):
        bottomup_collate([unencoded])


def test_higher_resolution_maps_are_stacked_under_suffixed_names():
    batch = [_sample(1, 0), _sample(2, 1)]
    for i, item in enumerate(batch):
        g = torch.Generator().manual_seed(10 + i)
        item['data_samples'].gt_fields_2x = PixelData(
            heatmaps=torch.rand(K, 2 * H, 2 * W, generator=g),
            heatmap_mask=torch.ones(1, 2 * H, 2 * W),
        )
    targets = bottomup_collate(batch)['data_samples']
    assert targets['heatmaps_2x'].shape == (2, K, 2 * H, 2 * W)
    assert targets['heatmap_mask_2x'].shape == (2, 1, 2 * H, 2 * W)
    for i, item in enumerate(batch):
        higher = item['data_samples'].gt_fields_2x
        assert torch.equal(targets['heatmaps_2x'][i], higher.heatmaps)
    # one sample without them: an error naming it, nothing dropped
    del batch[1]['data_samples'].gt_fields_2x
    with pytest.raises(ValueError, match=r'gt_fields_2x holds \[\]'):
        bottomup_collate(batch)
