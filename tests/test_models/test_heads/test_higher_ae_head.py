import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData, PixelData
from mmpose.structures import PoseDataSample

from aeplugin.models.heads import HigherAssociativeEmbeddingHead
from aeplugin.models.losses import AELoss

K, C, H, W = 3, 8, 6, 5


@pytest.fixture(autouse=True)
def aeplugin_scope():
    with DefaultScope.overwrite_default_scope('aeplugin'):
        yield


def _head(**kwargs):
    torch.manual_seed(0)
    head = HigherAssociativeEmbeddingHead(
        in_channels=C, num_keypoints=K, num_basic_blocks=2, **kwargs
    )
    # O(1) weights: the default init's std 0.001 leaves outputs near 0
    for p in head.parameters():
        torch.nn.init.normal_(p, std=0.3)
    return head


def _feats(seed=0, batch=2):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, C, H, W, generator=g)]


def _sample(seed, people=2, mask_2x=True):
    g = torch.Generator().manual_seed(seed)
    sample = PoseDataSample(metainfo=dict(img_path=f'{seed}.jpg'))
    sample.gt_fields = PixelData(
        heatmaps=torch.rand(K, H, W, generator=g),
        heatmap_mask=(torch.rand(1, H, W, generator=g) > 0.3).float(),
    )
    higher = dict(heatmaps=torch.rand(K, 2 * H, 2 * W, generator=g))
    if mask_2x:
        higher['heatmap_mask'] = (
            torch.rand(1, 2 * H, 2 * W, generator=g) > 0.3
        ).float()
    sample.gt_fields_2x = PixelData(**higher)
    positions = torch.randint(0, H * W, (people, K, 1), generator=g)
    sample.gt_instance_labels = InstanceData(
        keypoint_indices=torch.cat(
            [positions, torch.ones(people, K, 1, dtype=torch.int64)], -1
        )
    )
    return sample


def _upsample_reference(maps: torch.Tensor) -> np.ndarray:
    """Output pixel (i, j) reads input (i / 2, j / 2), bilinear, clamped."""
    maps = maps.detach().numpy()
    h, w = maps.shape[-2:]
    out = np.empty((*maps.shape[:2], 2 * h, 2 * w))
    for i in range(2 * h):
        for j in range(2 * w):
            y, x = min(i / 2, h - 1), min(j / 2, w - 1)
            y0, x0 = int(y), int(x)
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            dy, dx = y - y0, x - x0
            out[..., i, j] = (
                maps[..., y0, x0] * (1 - dy) * (1 - dx)
                + maps[..., y0, x1] * (1 - dy) * dx
                + maps[..., y1, x0] * dy * (1 - dx)
                + maps[..., y1, x1] * dy * dx
            )
    return out


def test_outputs_and_the_aggregation_of_forward():
    head = _head().eval()
    feats = _feats()
    with torch.no_grad():
        heatmaps, tags, heatmaps_2x = head.forward_resolutions(feats)
        agg_heatmaps, agg_tags = head.forward(feats)
    assert heatmaps.shape == tags.shape == (2, K, H, W)
    assert heatmaps_2x.shape == (2, K, 2 * H, 2 * W)
    # the 1/4 outputs are the 1x1 conv of the feature
    direct = head.final_layer(feats[0])
    torch.testing.assert_close(torch.cat([heatmaps, tags], 1), direct)
    expected = (_upsample_reference(heatmaps) + heatmaps_2x.numpy()) / 2
    np.testing.assert_allclose(agg_heatmaps.numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(
        agg_tags.numpy(), _upsample_reference(tags), atol=1e-5
    )


def test_the_higher_branch_reads_features_and_predictions():
    """Changing only the 1/4 predictions (the final layer's bias) changes
    the 1/2 heatmaps: the deconvolution stage reads them."""
    head = _head().eval()
    feats = _feats()
    with torch.no_grad():
        before = head.forward_resolutions(feats)[2]
        head.final_layer.bias += 1.0
        after = head.forward_resolutions(feats)[2]
    assert head.higher_deconv_layers[0].in_channels == C + 2 * K
    assert not torch.allclose(before, after)


def test_losses_equal_a_direct_computation_and_reach_every_parameter():
    head = _head(heatmap_loss_weights=(0.5, 2.0)).train()
    feats = _feats()
    samples = [_sample(1), _sample(2, people=3)]
    losses = head.loss(feats, samples)
    assert set(losses) == {'loss_kpt', 'loss_kpt_2x', 'loss_pull', 'loss_push'}
    sum(losses.values()).backward()
    for name, p in head.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name

    with torch.no_grad():
        heatmaps, tags, heatmaps_2x = head.forward_resolutions(feats)
    for pred, fields, weight, key in (
        (heatmaps, 'gt_fields', 0.5, 'loss_kpt'),
        (heatmaps_2x, 'gt_fields_2x', 2.0, 'loss_kpt_2x'),
    ):
        gt = torch.stack([s.get(fields).heatmaps for s in samples])
        mask = torch.stack([s.get(fields).heatmap_mask for s in samples])
        # the official HeatmapLoss: masked squared error, mean over all
        direct = weight * ((pred - gt) ** 2 * mask).mean()
        torch.testing.assert_close(losses[key].detach(), direct)
    pull, push = AELoss(loss_weight=1e-3)(
        tags, [s.gt_instance_labels.keypoint_indices for s in samples]
    )
    torch.testing.assert_close(losses['loss_pull'].detach(), pull)
    torch.testing.assert_close(losses['loss_push'].detach(), push)


def test_batched_targets_give_the_per_sample_losses():
    from aeplugin.datasets import bottomup_collate

    head = _head().train()
    samples = [_sample(1, people=1), _sample(2, people=3)]
    batch = bottomup_collate(
        [
            dict(inputs=torch.zeros(3, 4 * H, 4 * W), data_samples=s)
            for s in samples
        ]
    )['data_samples']
    assert batch['heatmaps_2x'].shape == (2, K, 2 * H, 2 * W)
    assert batch['heatmap_mask_2x'].shape == (2, 1, 2 * H, 2 * W)
    feats = _feats()
    listed = head.loss(feats, samples)
    batched = head.loss(feats, batch)
    for key in listed:
        torch.testing.assert_close(batched[key], listed[key])


def test_missing_targets_and_masks_are_named():
    feats = _feats()
    head = _head(missing_mask='error')
    with pytest.raises(ValueError, match='1 of 2 data samples have no '):
        head.loss(feats, [_sample(1), _sample(2, mask_2x=False)])
    bare = _sample(1)
    del bare.gt_fields_2x
    with pytest.raises(ValueError, match='PackHigherBottomupPoseInputs'):
        _head().loss(feats, [bare, _sample(2)])
    with pytest.warns(UserWarning, match='heatmap_mask'):
        _head().loss(feats, [_sample(1), _sample(2, mask_2x=False)])
    with pytest.raises(ValueError, match=r'target heatmaps are \(3, 6, 5\)'):
        _head().loss([torch.randn(2, C, H + 1, W)], [_sample(1), _sample(2)])
    batch = dict(
        heatmaps=torch.stack([s.gt_fields.heatmaps for s in (_sample(1),)]),
        keypoint_indices=torch.zeros(1, 1, K, 2, dtype=torch.long),
    )
    with pytest.raises(ValueError, match='needs heatmaps_2x targets'):
        _head(missing_mask='ignore').loss([torch.randn(1, C, H, W)], batch)


def test_refuses_udp_decoders_and_weights_of_another_length():
    decoder = dict(
        type='BottomupGrouping',
        input_size=(4 * W, 4 * H),
        heatmap_size=(2 * W, 2 * H),
        use_udp=True,
    )
    with pytest.raises(ValueError, match='use_udp=False'):
        _head(decoder=decoder)
    with pytest.raises(ValueError, match='one weight per resolution'):
        _head(heatmap_loss_weights=(1.0,))
