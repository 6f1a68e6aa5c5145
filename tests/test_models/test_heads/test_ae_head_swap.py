"""What changes when the head is swapped with mmpose's: its defaults (pinned
against mmpose's signature and docs/components.md), the ignore mask it asks
for, and the test-time options it refuses."""

import inspect
import re
import warnings
from pathlib import Path

import pytest
import torch
from mmengine.registry import DefaultScope
from mmpose.models.heads import (
    AssociativeEmbeddingHead as MmposeAssociativeEmbeddingHead,
)
from mmpose.models.losses import KeypointMSELoss

from aeplugin.models.heads import AssociativeEmbeddingHead
from aeplugin.registry import MODELS

from .test_ae_head import K, _head, _rendered_feats, _sample, _samples
from .test_ae_head import _stack_outputs as _outputs

DOCS = Path(__file__).parents[3] / 'docs' / 'components.md'
DEFAULTS_HEADING = "### Defaults that differ from mmpose's head"


@pytest.fixture(autouse=True)
def aeplugin_scope():
    with DefaultScope.overwrite_default_scope('aeplugin'):
        yield


def _format_default(value):
    """A default as docs/components.md writes it."""
    if value is inspect.Parameter.empty:
        return 'absent'
    if isinstance(value, dict):
        args = ', '.join(f'{k}={v!r}' for k, v in value.items())
        return f'`dict({args})`'
    return f'`{value!r}`'


def _documented_defaults():
    """{key: (ours, mmpose's)} from the table under DEFAULTS_HEADING."""
    text = DOCS.read_text()
    assert DEFAULTS_HEADING in text
    rows = {}
    for line in text.split(DEFAULTS_HEADING, 1)[1].splitlines()[1:]:
        if line.startswith('#'):
            break
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if not line.startswith('|') or set(cells[0]) <= {'-', ' '}:
            continue
        if cells[0] == 'key':
            continue
        rows[re.fullmatch(r'`(\w+)`', cells[0]).group(1)] = tuple(cells[1:3])
    return rows


def test_every_default_that_differs_from_mmposes_is_documented():
    ours = inspect.signature(AssociativeEmbeddingHead.__init__).parameters
    theirs = inspect.signature(
        MmposeAssociativeEmbeddingHead.__init__
    ).parameters
    empty = inspect.Parameter.empty
    differing = {
        name: (
            ours[name].default if name in ours else empty,
            theirs[name].default if name in theirs else empty,
        )
        for name in set(ours) | set(theirs)
        if name not in ours
        or name not in theirs
        or ours[name].default != theirs[name].default
    }
    documented = _documented_defaults()
    assert set(documented) == set(differing)
    for name, (mine, mmpose) in differing.items():
        assert documented[name] == (
            _format_default(mine),
            _format_default(mmpose),
        ), name
    # what the table says, pinned here too
    assert differing['deconv_out_channels'] == (None, (256, 256, 256))
    assert differing['tag_loss'] == (
        dict(type='AELoss', loss_weight=1e-3),
        dict(type='AssociativeEmbeddingLoss'),
    )


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
