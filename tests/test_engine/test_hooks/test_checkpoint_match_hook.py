from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import load_checkpoint

import aeplugin  # noqa: F401  (lets torch.load read runner checkpoints)
from aeplugin.engine import (
    CheckpointMatchHook,
    check_checkpoint_matches,
    checkpoint_mismatches,
)
from aeplugin.registry import MODELS

CONFIG = Path(__file__).parents[3] / (
    'configs/ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py'
)


def _model(**backbone):
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.update(
        num_stacks=1, feat_channels=16, increase=8, stem_channels=(8, 16)
    )
    cfg.model.backbone.update(backbone)
    with DefaultScope.overwrite_default_scope('aeplugin'):
        return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def other_architecture(tmp_path_factory):
    """A checkpoint of a 2-stack hourglass with 24 features."""
    path = tmp_path_factory.mktemp('ckpt') / 'other.pth'
    other = _model(num_stacks=2, feat_channels=24)
    torch.save(dict(meta=dict(), state_dict=other.state_dict()), path)
    return str(path)


def test_mmengine_loads_another_architecture_with_a_warning_only(
    other_architecture,
):
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    load_checkpoint(model, other_architecture, strict=False)
    found = checkpoint_mismatches(
        model, torch.load(other_architecture)['state_dict']
    )
    # the mismatched weights stay as initialised: a test would evaluate them
    key = found['shape'][0].split(':')[0]
    assert torch.equal(model.state_dict()[key], before[key])


def test_mismatch_lists_missing_unexpected_and_shapes(other_architecture):
    model = _model()
    with pytest.raises(ValueError) as error:
        check_checkpoint_matches(model, other_architecture)
    message = str(error.value)
    assert message.startswith(f'{other_architecture} does not match')
    # the stack-1 layers and the re-injection into it are unexpected; the
    # 24-feature layers have other shapes
    assert '104 checkpoint weights the model does not have:' in message
    assert '  backbone.stacks.0.remap_feature.bn.bias' in message
    assert '81 weights of another shape:' in message
    assert (
        '  backbone.stacks.0.feature_convs.0.bn.bias: checkpoint (24,) vs '
        'model (16,)'
    ) in message
    assert '  ... and 71 more' in message
    assert 'missing' not in message


def test_matching_checkpoint_and_hook(other_architecture):
    model = _model()
    check_checkpoint_matches(model, dict(state_dict=model.state_dict()))
    # a wrapped model's keys
    check_checkpoint_matches(
        model, {f'module.{k}': v for k, v in model.state_dict().items()}
    )
    ckpt = torch.load(other_architecture)
    runner = SimpleNamespace(model=model, cfg=dict(load_from='other.pth'))
    with pytest.raises(ValueError, match='^other.pth does not match'):
        CheckpointMatchHook().after_load_checkpoint(runner, ckpt)
    CheckpointMatchHook(allow_partial=True).after_load_checkpoint(runner, ckpt)
