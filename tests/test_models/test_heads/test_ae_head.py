import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData, PixelData
from mmpose.models.losses import KeypointMSELoss
from mmpose.structures import PoseDataSample

from aeplugin.models.heads import AssociativeEmbeddingHead
from aeplugin.models.losses import AELoss
from aeplugin.testing import COCO_ORDER, render_ae_maps

K = 17
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
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
            type='BottomupGrouping',
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


def test_sample_list_becomes_the_batch_tensors():
    """mmpose's per-sample list is converted to bottomup_collate's batch:
    a sample without a mask gets ones, the others keep theirs, people are
    padded with unlabelled keypoints, and another gt_fields map is stacked
    too."""
    samples = [_sample(2, seed=0), _sample(0, seed=1, mask=False)]
    samples.append(_sample(3, seed=2))
    samples[0].gt_fields.set_field(torch.full((2, 4, 4), 7.0), 'extra_maps')
    samples[1].gt_fields.set_field(torch.zeros(2, 4, 4), 'extra_maps')
    samples[2].gt_fields.set_field(torch.ones(2, 4, 4), 'extra_maps')

    batch = _head()._batch_targets(samples, 'cpu')

    assert batch['heatmaps'].shape == (3, K, 16, 16)
    for i, sample in enumerate(samples):
        assert torch.equal(batch['heatmaps'][i], sample.gt_fields.heatmaps)
    assert torch.equal(batch['heatmap_mask'][1], torch.ones(1, 16, 16))
    assert torch.equal(
        batch['heatmap_mask'][2], samples[2].gt_fields.heatmap_mask
    )
    assert batch['extra_maps'][:, 0, 0, 0].tolist() == [7.0, 0.0, 1.0]
    indices = batch['keypoint_indices']
    assert indices.shape == (3, 3, K, 2)
    assert torch.equal(
        indices[0, :2], samples[0].gt_instance_labels.keypoint_indices
    )
    assert not indices[0, 2:].any() and not indices[1].any()


def test_sample_list_targets_are_built_on_the_output_device():
    """Masks already on the device next to a sample without one: the
    stand-in mask is made on that device too ('meta' stands for a GPU, on
    which a host tensor in the stack raises)."""
    samples = [_sample(2, seed=0), _sample(1, seed=1, mask=False)]
    for field in ('heatmaps', 'heatmap_mask'):
        if field in samples[0].gt_fields:
            value = samples[0].gt_fields.get(field).to('meta')
            samples[0].gt_fields.set_field(value, field)
    samples[1].gt_fields.set_field(
        samples[1].gt_fields.heatmaps.to('meta'), 'heatmaps'
    )
    head = _head(missing_mask='ignore')

    gt_heatmaps, masks, indices = head._targets(
        samples, torch.zeros(2, K, 16, 16, device='meta')
    )

    assert gt_heatmaps.device.type == 'meta'
    assert masks.device.type == 'meta' and masks.shape == (2, 1, 16, 16)
    assert indices.device.type == 'meta' and indices.shape == (2, 2, K, 2)


def _rendered_feats(scale=1.0, flipped=False, udp=False):
    """What a network that learned the codec's pixel convention predicts
    for the input scaled by ``scale`` (and mirrored with ``flipped``): GT
    people rendered where the codec puts them."""
    kpts, vis = _coco_people()
    size = int(HEATMAP * scale)
    # input pixels of the scaled (and mirrored) input
    points = kpts * (INPUT / HEATMAP) * scale
    if flipped:
        points = points[:, COCO_FLIP].copy()
        points[..., 0] = INPUT * scale - 1 - points[..., 0]
    to_heatmap = (size - 1) / (INPUT * scale - 1) if udp else HEATMAP / INPUT
    heatmaps, tags = render_ae_maps(
        points * to_heatmap,
        (size, size),
        vis[:, COCO_FLIP] if flipped else vis,
    )
    maps = torch.from_numpy(np.concatenate([heatmaps, tags]))[None]
    return (maps,), kpts, vis


def _samples():
    return [
        PoseDataSample(
            metainfo=dict(flip_indices=COCO_FLIP, img_shape=(INPUT, INPUT))
        )
    ]


def _signed_errors(pred, kpts, vis, stride):
    """Input-space (x, y) errors of the decoded person closest to each GT
    person, over visible keypoints: (M, 2)."""
    errors = []
    for person, v in zip(kpts * stride, vis):
        dist = np.linalg.norm(pred.keypoints[:, v] - person[v], axis=-1)
        closest = dist.mean(axis=1).argmin()
        errors.append(pred.keypoints[closest, v] - person[v])
    return np.concatenate(errors)


def _udp_head(udp, heatmap_size=(HEATMAP, HEATMAP)):
    return _head(
        decoder=dict(
            type='BottomupGrouping',
            input_size=(INPUT, INPUT),
            heatmap_size=heatmap_size,
            sigma=2,
            decode_keypoint_order=COCO_ORDER,
            use_udp=udp,
        )
    )


def _check_unbiased(pred, kpts, vis, max_error, max_bias=0.15):
    """Every GT person found, within ``max_error`` input pixels on average
    and without a systematic offset (F.interpolate and mmpose's
    shift_heatmap leave 0.5 to 1.5 input pixels)."""
    assert len(pred.keypoints) == len(kpts)
    errors = _signed_errors(pred, kpts, vis, INPUT / HEATMAP)
    mean_error = np.linalg.norm(errors, axis=-1).mean()
    bias = errors.mean(axis=0)
    assert mean_error < max_error, (mean_error, bias)
    assert np.abs(bias).max() < max_bias, (mean_error, bias)


@pytest.mark.parametrize('udp', [False, True])
def test_single_scale_decodes_rendered_people(udp):
    feats, kpts, vis = _rendered_feats(udp=udp)
    pred = _udp_head(udp).predict(feats, _samples())[0]
    _check_unbiased(pred, kpts, vis, max_error=0.6 if udp else 1.0)


@pytest.mark.parametrize('udp', [False, True])
def test_flip_test_of_mirrored_input_matches_single_pass(udp):
    """The mirrored pass of a network that learned the codec's convention
    lands on the original pass: exactly for UDP (the same people come
    out), after the (t - 1) / t pixel resampling otherwise."""
    head = _udp_head(udp)
    feats, kpts, vis = _rendered_feats(udp=udp)
    single = head.predict(feats, _samples())[0]
    flipped, fields = head.predict(
        [feats, _rendered_feats(flipped=True, udp=udp)[0]],
        _samples(),
        dict(flip_test=True, output_heatmaps=True),
    )
    flipped = flipped[0]
    assert fields[0].tags.shape == (2 * K, HEATMAP, HEATMAP)
    _check_unbiased(flipped, kpts, vis, max_error=0.6 if udp else 1.0)
    if udp:
        np.testing.assert_allclose(
            flipped.keypoints, single.keypoints, atol=1e-3
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


@pytest.mark.parametrize('udp', [False, True])
def test_multiscale_flip_concatenates_tags_and_finds_people(udp):
    full, kpts, vis = _rendered_feats(udp=udp)
    half = _rendered_feats(scale=0.5, udp=udp)[0]
    feats = [
        [full, _rendered_feats(flipped=True, udp=udp)[0]],
        [half, _rendered_feats(scale=0.5, flipped=True, udp=udp)[0]],
    ]
    preds, fields = _udp_head(udp).predict(
        feats,
        _samples(),
        dict(multiscale_test=True, flip_test=True, output_heatmaps=True),
    )
    # 2 scales x 2 flips x L=1 tag maps per keypoint, all at the first
    # scale's size; heatmaps averaged at that size
    assert fields[0].tags.shape == (4 * K, HEATMAP, HEATMAP)
    assert fields[0].heatmaps.shape == (K, HEATMAP, HEATMAP)
    _check_unbiased(preds[0], kpts, vis, max_error=1.0 if udp else 1.2)


@pytest.mark.parametrize('flip_test', [False, True])
def test_restore_heatmap_size_with_and_without_flip(flip_test):
    head = _udp_head(False, heatmap_size=(INPUT, INPUT))
    feats, kpts, vis = _rendered_feats()
    inputs = [feats, _rendered_feats(flipped=True)[0]] if flip_test else feats
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
    # Equal pixels of the resized maps pass NMS together and add copies of
    # people at a low score; the confident people are the GT ones. The
    # maximum of a bilinear resize stays on the heatmap grid.
    confident = preds[0][preds[0].bbox_scores > 0.5]
    assert (preds[0].bbox_scores[len(confident) :] < 0.1).all()
    _check_unbiased(confident, kpts, vis, max_error=1.6, max_bias=0.3)
