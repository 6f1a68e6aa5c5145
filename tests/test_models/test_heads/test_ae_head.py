import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData, PixelData
from mmpose.models.losses import KeypointMSELoss
from mmpose.structures import PoseDataSample

from aeplugin.models.heads import AssociativeEmbeddingHead
from aeplugin.models.losses import AELoss
from aeplugin.testing.synthetic_maps import render_ae_maps

K = 17
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
COCO_ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]
INPUT, HEATMAP = 256, 64
DATA = Path(__file__).parents[2] / 'data' / 'coco'


@pytest.fixture(autouse=True)
def aeplugin_scope():
    with DefaultScope.overwrite_default_scope('aeplugin'):
        yield


def _coco_people(image_id=196141):
    """Real COCO people of one image, scaled into the 64x64 heatmap."""
    data = json.loads((DATA / 'test_coco.json').read_text())
    image = next(i for i in data['images'] if i['id'] == image_id)
    anns = [
        a
        for a in data['annotations']
        if a['image_id'] == image_id and a['num_keypoints'] >= 5
    ]
    kpts = np.array([a['keypoints'] for a in anns], dtype=np.float32)
    kpts = kpts.reshape(-1, K, 3)
    scale = (HEATMAP - 1) / max(image['width'], image['height'])
    return kpts[..., :2] * scale, kpts[..., 2] > 0


def _head(**kwargs):
    cfg = dict(
        in_channels=2 * K,
        num_keypoints=K,
        final_layer=None,
        decoder=dict(
            type='BottomUpGrouping',
            input_size=(INPUT, INPUT),
            heatmap_size=(HEATMAP, HEATMAP),
            sigma=2,
            decode_keypoint_order=COCO_ORDER,
            decode_max_instances=30,
        ),
    )
    cfg.update(kwargs)
    return AssociativeEmbeddingHead(**cfg)


def _sample(num_people, seed, size=16, mask=True):
    g = torch.Generator().manual_seed(seed)
    sample = PoseDataSample(
        metainfo=dict(
            flip_indices=COCO_FLIP, img_shape=(INPUT, INPUT), img_path=None
        )
    )
    fields = dict(heatmaps=torch.rand(K, size, size, generator=g))
    if mask:
        fields['heatmap_mask'] = (
            torch.rand(1, size, size, generator=g) > 0.2
        ).float()
    sample.gt_fields = PixelData(**fields)
    idx = torch.randint(0, size * size, (num_people, K, 1), generator=g)
    vis = torch.randint(0, 2, (num_people, K, 1), generator=g)
    sample.gt_instance_labels = InstanceData(
        keypoint_indices=torch.cat([idx, vis], -1)
    )
    return sample


def _stack_outputs(num_stacks=2, B=3, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(
        torch.randn(B, 2 * K, size, size, generator=g).requires_grad_()
        for _ in range(num_stacks)
    )


def test_loss_supervises_every_stack_for_0_1_many_people():
    head = _head(stack_loss_weights=[0.5, 1.0])
    feats = _stack_outputs()
    samples = [_sample(n, seed=n) for n in (0, 1, 6)]
    losses = head.loss(feats, samples)

    gt = torch.stack([s.gt_fields.heatmaps for s in samples])
    mask = torch.stack([s.gt_fields.heatmap_mask for s in samples])
    indices = [s.gt_instance_labels.keypoint_indices for s in samples]
    mse, ae = KeypointMSELoss(), AELoss(loss_weight=1e-3)
    expected = dict(loss_kpt=0.0, loss_pull=0.0, loss_push=0.0)
    for weight, out in zip([0.5, 1.0], feats):
        expected['loss_kpt'] += weight * mse(out[:, :K], gt, None, mask)
        pull, push = ae(out[:, K:], indices)
        expected['loss_pull'] += weight * pull
        expected['loss_push'] += weight * push
    for key, value in expected.items():
        torch.testing.assert_close(losses[key], value)
    assert losses['loss_pull'] > 0 and losses['loss_push'] > 0

    sum(losses.values()).backward()
    for out in feats:
        assert out.grad is not None and out.grad.abs().sum() > 0
        assert torch.isfinite(out.grad).all()


def test_masked_pixels_do_not_count():
    head = _head()
    sample = _sample(2, seed=3)
    feats = _stack_outputs(num_stacks=1, B=1, seed=4)
    base = head.loss(feats, [sample])['loss_kpt']
    masked = sample.gt_fields.heatmap_mask[0] == 0
    spoiled = feats[0].detach().clone()
    spoiled[0, :K, masked] += 100.0
    assert head.loss((spoiled,), [sample])['loss_kpt'] == base


def test_zero_stack_weight_gives_no_gradient():
    head = _head(stack_loss_weights=[0.0, 1.0])
    feats = _stack_outputs(B=2)
    sum(head.loss(feats, [_sample(3, 1), _sample(2, 2)]).values()).backward()
    assert feats[0].grad.abs().sum() == 0
    assert feats[1].grad.abs().sum() > 0


def test_head_with_layers_maps_last_feature_of_any_backbone():
    head = _head(in_channels=8, final_layer=dict(kernel_size=1), tag_dim=2)
    feats = (torch.randn(2, 4, 8, 8), torch.randn(2, 8, 16, 16))
    heatmaps, tags = head.forward(feats)
    assert heatmaps.shape == (2, K, 16, 16)
    assert tags.shape == (2, 2 * K, 16, 16)
    expected = head.final_layer(feats[1])
    torch.testing.assert_close(heatmaps, expected[:, :K])


def test_shared_tag_map_is_repeated_per_keypoint():
    head = _head(in_channels=K + 2, tag_per_keypoint=False, tag_dim=2)
    out = torch.randn(1, K + 2, 4, 4)
    _, tags = head.forward((out,))
    assert tags.shape == (1, 2 * K, 4, 4)
    # channel l*K + k holds dimension l of keypoint k
    torch.testing.assert_close(tags[0, 1 * K + 5], out[0, K + 1])
    torch.testing.assert_close(tags[0, 3], out[0, K])


def test_clear_errors():
    with pytest.raises(ValueError, match='in_channels must be'):
        _head(in_channels=10)
    head = _head()
    no_labels = _sample(1, seed=0)
    del no_labels.gt_instance_labels
    with pytest.raises(ValueError, match='has no gt_instance_labels'):
        head.loss(_stack_outputs(num_stacks=1, B=1), [no_labels])
    with pytest.raises(ValueError, match='target heatmaps are'):
        head.loss(_stack_outputs(num_stacks=1, B=1, size=8), [_sample(1, 0)])


def _rendered_feats(scale=1.0):
    kpts, vis = _coco_people()
    heatmaps, tags = render_ae_maps(kpts, (HEATMAP, HEATMAP), vis)
    maps = torch.from_numpy(np.concatenate([heatmaps, tags]))[None]
    if scale != 1.0:
        maps = F.interpolate(maps, scale_factor=scale, mode='bilinear')
    return (maps,), kpts, vis


def _mirror(feats):
    """What an equivariant network predicts for the mirrored image."""
    maps = feats[0].flip(-1)
    heatmaps, tags = maps[:, :K], maps[:, K:]
    return (torch.cat([heatmaps[:, COCO_FLIP], tags[:, COCO_FLIP]], 1),)


def _samples():
    return [
        PoseDataSample(
            metainfo=dict(flip_indices=COCO_FLIP, img_shape=(INPUT, INPUT))
        )
    ]


def _mean_error_to_gt(pred, kpts, vis, stride):
    """Mean input-space distance of each GT person to its closest decoded
    person, over visible keypoints."""
    errors = []
    for person, v in zip(kpts * stride, vis):
        dist = np.linalg.norm(pred.keypoints[:, v] - person[v], axis=-1)
        errors.append(dist.mean(axis=1).min())
    return float(np.mean(errors))


def test_single_scale_decodes_rendered_people():
    head = _head()
    feats, kpts, vis = _rendered_feats()
    pred = head.predict(feats, _samples())[0]
    assert len(pred.keypoints) == len(kpts)
    assert _mean_error_to_gt(pred, kpts, vis, INPUT / HEATMAP) < 2.0


def test_flip_test_of_mirrored_maps_equals_single_pass():
    head = _head()
    feats, kpts, _ = _rendered_feats()
    single = head.predict(feats, _samples())[0]
    flipped, fields = head.predict(
        [feats, _mirror(feats)],
        _samples(),
        dict(flip_test=True, output_heatmaps=True),
    )
    flipped = flipped[0]
    assert fields[0].tags.shape == (2 * K, HEATMAP, HEATMAP)
    torch.testing.assert_close(fields[0].tags[:K], fields[0].tags[K:])
    np.testing.assert_allclose(flipped.keypoints, single.keypoints, atol=1e-4)
    np.testing.assert_allclose(
        flipped.keypoint_scores, single.keypoint_scores, atol=1e-5
    )


def test_multiscale_with_one_scale_equals_single_scale_exactly():
    head = _head()
    feats, _, _ = _rendered_feats()
    single = head.predict(feats, _samples())[0]
    multi = head.predict([feats], _samples(), dict(multiscale_test=True))[0]
    np.testing.assert_array_equal(multi.keypoints, single.keypoints)
    np.testing.assert_array_equal(
        multi.keypoint_scores, single.keypoint_scores
    )


def test_multiscale_flip_concatenates_tags_and_finds_people():
    head = _head()
    full, kpts, vis = _rendered_feats()
    half, _, _ = _rendered_feats(scale=0.5)
    feats = [[full, _mirror(full)], [half, _mirror(half)]]
    preds, fields = head.predict(
        feats,
        _samples(),
        dict(multiscale_test=True, flip_test=True, output_heatmaps=True),
    )
    # 2 scales x 2 flips x L=1 tag maps per keypoint, all at the first
    # scale's size; heatmaps averaged at that size
    assert fields[0].tags.shape == (4 * K, HEATMAP, HEATMAP)
    assert fields[0].heatmaps.shape == (K, HEATMAP, HEATMAP)
    assert len(preds[0].keypoints) == len(kpts)
    assert _mean_error_to_gt(preds[0], kpts, vis, INPUT / HEATMAP) < 2.5


@pytest.mark.parametrize('flip_test', [False, True])
def test_restore_heatmap_size_with_and_without_flip(flip_test):
    head = _head(
        decoder=dict(
            type='BottomUpGrouping',
            input_size=(INPUT, INPUT),
            heatmap_size=(INPUT, INPUT),
            sigma=2,
            decode_keypoint_order=COCO_ORDER,
        )
    )
    feats, kpts, vis = _rendered_feats()
    inputs = [feats, _mirror(feats)] if flip_test else feats
    preds, fields = head.predict(
        inputs,
        _samples(),
        dict(
            flip_test=flip_test,
            restore_heatmap_size=True,
            output_heatmaps=True,
        ),
    )
    assert fields[0].heatmaps.shape == (K, INPUT, INPUT)
    assert len(preds[0].keypoints) == len(kpts)
    assert _mean_error_to_gt(preds[0], kpts, vis, INPUT / HEATMAP) < 3.0
