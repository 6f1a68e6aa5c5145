"""What changes when the head is swapped with mmpose's: its defaults, the
ignore mask it asks for, and the test-time options it refuses."""

import warnings

import pytest
import torch
from mmengine.registry import DefaultScope
from mmpose.models.losses import KeypointMSELoss

from aeplugin.models.heads import AssociativeEmbeddingHead
from aeplugin.models.losses import AELoss
from aeplugin.registry import MODELS

from .test_ae_head import K, _head, _rendered_feats, _sample, _samples
from .test_ae_head import _stack_outputs as _outputs


@pytest.fixture(autouse=True)
def aeplugin_scope():
    with DefaultScope.overwrite_default_scope('aeplugin'):
        yield


def test_defaults_are_the_ae_settings():
    """The defaults mmpose's AE config states (no deconvolutions, AELoss at
    weight 1e-3, the paper's), not the signature defaults of mmpose's head
    (HeatmapHead's three 4x4 deconvs, a grouping loss at 1.0): a head
    with ``final_layer=None`` is HourglassAE's per-stack head, with no
    layers of its own."""
    head = AssociativeEmbeddingHead(
        in_channels=2 * K, num_keypoints=K, final_layer=None
    )
    assert not head.has_layers
    assert list(head.parameters()) == []
    tag_losses = [m for m in head.modules() if isinstance(m, AELoss)]
    assert len(tag_losses) == 1
    assert tag_losses[0].loss_weight == 1e-3
    assert head.missing_mask == 'warn'
    assert head.stack_loss_weights is None


def test_missing_mask_warns_once_naming_the_transform_and_trains_unmasked():
    head = _head()
    feats = _outputs(num_stacks=1, B=2)
    samples = [_sample(2, seed=1, mask=False), _sample(3, seed=2, mask=False)]
    with pytest.warns(UserWarning, match='2 of 2 data samples') as record:
        losses = head.loss(feats, samples)
    assert len(record) == 1
    assert 'BottomupCrowdMask' in str(record[0].message)
    assert "missing_mask='ignore'" in str(record[0].message)
    gt = torch.stack([s.gt_fields.heatmaps for s in samples])
    expected = KeypointMSELoss()(feats[0][:, :K], gt, None, None)
    torch.testing.assert_close(losses['loss_kpt'], expected)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        head.loss(feats, samples)  # once per head


def test_a_sample_without_mask_keeps_the_others_masks():
    head = _head()
    feats = _outputs(num_stacks=1, B=2)
    samples = [_sample(2, seed=1), _sample(3, seed=2, mask=False)]
    with pytest.warns(UserWarning, match='1 of 2 data samples'):
        losses = head.loss(feats, samples)
    gt = torch.stack([s.gt_fields.heatmaps for s in samples])
    mask = torch.ones(2, 1, 16, 16)
    mask[0] = samples[0].gt_fields.heatmap_mask
    assert mask.min() == 0
    expected = KeypointMSELoss()(feats[0][:, :K], gt, None, mask)
    torch.testing.assert_close(losses['loss_kpt'], expected)


def test_missing_mask_error_and_ignore():
    feats = _outputs(num_stacks=1, B=1)
    samples = [_sample(2, seed=1, mask=False)]
    with pytest.raises(ValueError, match='BottomupCrowdMask'):
        _head(missing_mask='error').loss(feats, samples)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        _head(missing_mask='ignore').loss(feats, samples)
        _head(missing_mask='error').loss(feats, [_sample(2, seed=1)])
    with pytest.raises(ValueError, match='missing_mask must be one of'):
        _head(missing_mask=False)


def test_batched_targets_without_mask_warn_once():
    """The tensors of bottomup_collate, which leaves out `heatmap_mask`
    unless every sample has one."""
    samples = [_sample(2, seed=1), _sample(3, seed=2)]
    batch = dict(
        heatmaps=torch.stack([s.gt_fields.heatmaps for s in samples]),
        keypoint_indices=torch.zeros(2, 3, K, 2, dtype=torch.int64),
    )
    feats = _outputs(num_stacks=1, B=2)
    head = _head()
    with pytest.warns(UserWarning, match='batch tensors hold no heatmap_mask'):
        head.loss(feats, batch)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        head.loss(feats, batch)
        masks = torch.stack([s.gt_fields.heatmap_mask for s in samples])
        _head(missing_mask='error').loss(
            feats, dict(batch, heatmap_mask=masks)
        )
    with pytest.raises(ValueError, match='heatmap_mask'):
        _head(missing_mask='error').loss(feats, batch)


def _estimator(test_cfg):
    head = dict(in_channels=2 * K, num_keypoints=K, final_layer=None)
    return dict(
        type='BottomupPoseEstimator',
        backbone=dict(type='HourglassAE', num_stacks=1, depth=1),
        head=dict(head, type='AssociativeEmbeddingHead'),
        test_cfg=test_cfg,
    )


@pytest.mark.parametrize(
    'option, instead',
    [('shift_heatmap', 'flip_test'), ('align_corners', 'use_udp=True')],
)
def test_refused_test_cfg_stops_the_model_build_naming_the_replacement(
    option, instead
):
    with pytest.raises(ValueError, match=f'{option}=True') as error:
        MODELS.build(_estimator(dict(flip_test=True, **{option: True})))
    assert instead in str(error.value)
    assert 'leave it out (or False)' in str(error.value)
    assert "type='mmpose.AssociativeEmbeddingHead'" in str(error.value)
    # mmpose's AE config states both as False: accepted
    model = MODELS.build(_estimator(dict(flip_test=True, shift_heatmap=False)))
    assert model.head.test_cfg['flip_test']


@pytest.mark.parametrize('option', ['shift_heatmap', 'align_corners'])
def test_predict_refuses_them_before_running_anything(option):
    # no features at all: the check comes before any forward or decoding
    with pytest.raises(ValueError, match=f'{option}=True'):
        _head().predict(None, _samples(), {option: True})
    feats, _, _ = _rendered_feats()
    assert len(_head().predict(feats, _samples(), {option: False})) == 1
