import copy

import pytest
import torch
from mmcv.cnn import fuse_conv_bn as mmcv_fuse_conv_bn
from mmpose.models.backbones import HourglassAENet
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from aeplugin.models.backbones import HourglassAE
from aeplugin.models.utils import fuse_conv_bn
from aeplugin.testing import randomize_weights_

SMALL = dict(num_stacks=2, feat_channels=32, increase=16, depth=2)


def randomized_for_eval(model, seed=0):
    """Random weights in eval mode: only running statistics can be folded.
    (Not ``.eval()``'s result: mmpose's BaseBackbone.train returns None.)"""
    randomize_weights_(model, seed).eval()
    return model


def random_images(batch_size, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch_size, 3, 64, 64, generator=generator)


def count_norms(model):
    return sum(isinstance(m, _BatchNorm) for m in model.modules())


def outputs(model, images):
    with torch.no_grad():
        return [output.clone() for output in model(images)]


def test_fused_hourglass_equals_unfused():
    model = randomized_for_eval(HourglassAE(**SMALL))
    images = random_images(2, seed=1)
    expected = outputs(model, images)
    assert count_norms(model) > 20

    assert fuse_conv_bn(model) is model
    assert count_norms(model) == 0
    for output, reference in zip(outputs(model, images), expected):
        assert reference.std() > 0.1
        torch.testing.assert_close(output, reference, atol=1e-4, rtol=0)


def test_pre_activation_norms_stay_and_outputs_are_equal():
    """The residual block's units run norm -> act -> conv: their norm cannot
    be folded into a conv and must stay. mmcv's fuse_conv_bn pairs a
    ConvModule's conv and norm by registration order and folds such a norm
    into the conv after it, which breaks the network."""
    model = randomized_for_eval(HourglassAE(**SMALL, block='residual'))
    images = random_images(1, seed=2)
    expected = outputs(model, images)
    pre_activation = sum(
        isinstance(m, _BatchNorm)
        for unit in model.modules()
        if getattr(unit, 'order', None) == ('norm', 'act', 'conv')
        for m in unit.modules()
    )
    assert 0 < pre_activation < count_norms(model)

    mmcv_fused = copy.deepcopy(model)
    try:
        mmcv_fuse_conv_bn(mmcv_fused)
        broken = any(
            not torch.allclose(
                output, reference, atol=1e-4 * float(reference.std())
            )
            for output, reference in zip(outputs(mmcv_fused, images), expected)
        )
    except RuntimeError:
        broken = True
    assert broken

    fuse_conv_bn(model)
    assert count_norms(model) == pre_activation
    for output, reference in zip(outputs(model, images), expected):
        # Random residual stacks grow their outputs (std 40 to 800 here):
        # 1e-4 of the output's scale.
        scale = float(reference.std())
        torch.testing.assert_close(
            output, reference, atol=1e-4 * scale, rtol=0
        )


def test_mmpose_hourglass_and_plain_sequential_fold():
    mmpose_net = randomized_for_eval(
        HourglassAENet(
            downsample_times=2,
            num_stacks=1,
            stage_channels=(32, 48, 64),
            feat_channels=32,
        )
    )
    plain = randomized_for_eval(
        nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, bias=True),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, 4, 1),
            nn.BatchNorm2d(4, affine=False),
        )
    )
    images = random_images(1, seed=3)
    for model, run in (
        (mmpose_net, lambda m: m(images)[0]),
        (plain, lambda m: m(images)),
    ):
        with torch.no_grad():
            expected = run(model)
            fuse_conv_bn(model)
            torch.testing.assert_close(run(model), expected, atol=1e-4, rtol=0)
        assert count_norms(model) == 0


def test_norm_in_training_mode_is_an_error():
    model = HourglassAE(**SMALL)
    model.train()
    with pytest.raises(ValueError, match='training mode.*eval'):
        fuse_conv_bn(model)
