import copy

import pytest
import torch
import torch.nn.functional as F
from mmpose.models import HourglassAENet
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from aeplugin.models.backbones import HourglassAE
from aeplugin.models.backbones.hourglass_ae import ResidualBlock
from aeplugin.testing import randomize_weights_
from tools.model_converters.convert_mmpose_hourglass import (
    convert_mmpose_hourglass_ae_state_dict,
)

SMALL = dict(num_stacks=2, feat_channels=32, increase=16, depth=2)


def test_output_shapes():
    model = HourglassAE(**SMALL, out_channels=20)
    model.eval()
    with torch.no_grad():
        outputs = model(torch.rand(2, 3, 64, 128))
    assert isinstance(outputs, tuple)
    assert [tuple(output.shape) for output in outputs] == [(2, 20, 16, 32)] * 2


def test_train_and_eval_return_the_module_for_chaining():
    # mmpose's BaseBackbone.train returns None, so eval() did too
    model = HourglassAE(**SMALL)
    assert model.eval() is model and not model.training
    assert not any(m.training for m in model.modules())
    assert model.train() is model and model.training
    assert all(m.training for m in model.modules())
    assert model.to('cpu').train(False) is model and not model.stem.training


def test_paper_channels():
    model = HourglassAE(num_stacks=1)
    level, widths = model.stacks[0].hourglass, []
    for _ in range(4):
        widths.append(level.skip_conv.conv.out_channels)
        level = level.inner
    widths.append(level.conv.out_channels)
    assert widths == [256, 384, 512, 640, 768]


@pytest.mark.parametrize('block', ['conv', 'residual'])
@pytest.mark.parametrize('norm_cfg', [dict(type='BN'), None])
def test_every_parameter_gets_a_gradient(block, norm_cfg):
    model = HourglassAE(**SMALL, block=block, norm_cfg=norm_cfg)
    model.init_weights()
    model.train()
    outputs = model(torch.rand(2, 3, 64, 64))
    assert all(torch.isfinite(output).all() for output in outputs)
    sum(output.sum() for output in outputs).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_without_norm_convs_have_bias():
    model = HourglassAE(**SMALL, norm_cfg=None)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    # stem 4, per stack: hourglass 3 * depth + 1, 2 + 1 after it; remap 2
    assert len(convs) == 4 + 2 * (3 * 2 + 1 + 2 + 1) + 2
    assert all(conv.bias is not None for conv in convs)
    assert not any(
        isinstance(m, (_BatchNorm, nn.GroupNorm)) for m in model.modules()
    )


def test_norm_cfg_reaches_every_hourglass_level():
    # mmpose's HourglassAENet builds its inner levels with BN whatever
    # norm_cfg says.
    model = HourglassAE(
        **{**SMALL, 'depth': 3}, norm_cfg=dict(type='GN', num_groups=8)
    )
    norms = [
        m for m in model.modules() if isinstance(m, (_BatchNorm, nn.GroupNorm))
    ]
    assert len(norms) == 4 + 2 * (3 * 3 + 1 + 2) + 2
    assert all(isinstance(norm, nn.GroupNorm) for norm in norms)


def test_residual_block_matches_functional_reference():
    torch.manual_seed(0)
    block = randomize_weights_(ResidualBlock(8, 16), seed=1)
    block.eval()
    x = torch.randn(2, 8, 6, 6)

    def norm_act_conv(unit, y, padding=0):
        y = F.batch_norm(
            y,
            unit.bn.running_mean,
            unit.bn.running_var,
            unit.bn.weight,
            unit.bn.bias,
        )
        return F.conv2d(F.relu(y), unit.conv.weight, padding=padding)

    first, middle, last = block.residual
    expected = F.conv2d(x, block.shortcut.weight, block.shortcut.bias)
    expected = expected + norm_act_conv(
        last, norm_act_conv(middle, norm_act_conv(first, x), padding=1)
    )
    x_before = x.clone()
    with torch.no_grad():
        torch.testing.assert_close(block(x), expected)
    torch.testing.assert_close(x, x_before, rtol=0, atol=0)


def test_with_cp_matches_without():
    torch.manual_seed(0)
    plain = randomize_weights_(HourglassAE(**SMALL), seed=2)
    plain.train()
    checkpointed = copy.deepcopy(plain)
    checkpointed.with_cp = True
    images = torch.rand(2, 3, 64, 64)

    def run(forward):
        """Return the outputs and the numel of the tensors saved for
        backward."""
        numel = 0

        def pack(tensor):
            nonlocal numel
            numel += tensor.numel()
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            outputs = forward()
        return outputs, numel

    def backward(outputs):
        weight = torch.linspace(0, 1, outputs[0].shape[-1])
        sum((output * weight).sum() for output in outputs).backward()

    _, stem_numel = run(lambda: copy.deepcopy(plain).stem(images))
    outputs, plain_numel = run(lambda: plain(images))
    cp_outputs, cp_numel = run(lambda: checkpointed(images))
    backward(outputs)
    backward(cp_outputs)
    for output, cp_output in zip(outputs, cp_outputs):
        torch.testing.assert_close(cp_output, output, rtol=0, atol=0)
    for (name, param), cp_param in zip(
        plain.named_parameters(), checkpointed.parameters()
    ):
        torch.testing.assert_close(
            cp_param.grad, param.grad, rtol=0, atol=0, msg=name
        )
    # Recomputing a stack in backward must not update the norm statistics
    # a second time.
    for (name, buffer), cp_buffer in zip(
        plain.named_buffers(), checkpointed.buffers()
    ):
        torch.testing.assert_close(cp_buffer, buffer, rtol=0, atol=0, msg=name)
    # The stacks' activations are recomputed in backward, not kept.
    assert cp_numel - stem_numel < (plain_numel - stem_numel) / 10


@pytest.mark.parametrize('size', [(60, 64), (64, 72)])
def test_rejects_input_size_not_multiple_of_stride(size):
    model = HourglassAE(**SMALL)
    with pytest.raises(ValueError, match=r'multiples of 16 .*\(1, 3, \d+'):
        model(torch.rand(1, 3, *size))


def test_rejects_wrong_input_channels():
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\), got \(1, 1, 64'):
        HourglassAE(**SMALL)(torch.rand(1, 1, 64, 64))


@pytest.mark.parametrize(
    'kwargs, field',
    [
        (dict(block='bottleneck'), 'block'),
        (dict(num_stacks=0), 'num_stacks'),
        (dict(depth=0), 'depth'),
        (dict(stem_channels=(64,)), 'stem_channels'),
    ],
)
def test_rejects_bad_arguments(kwargs, field):
    with pytest.raises(ValueError, match=field):
        HourglassAE(**{**SMALL, **kwargs})


def _mmpose_parity(num_stacks, feat_channels, increase, depth, seed):
    stage_channels = [feat_channels + i * increase for i in range(depth + 1)]
    mmpose_net = HourglassAENet(
        downsample_times=depth,
        num_stacks=num_stacks,
        stage_channels=stage_channels,
        feat_channels=feat_channels,
    )
    randomize_weights_(mmpose_net, seed)
    mmpose_net.eval()
    state_dict = {
        f'backbone.{key}': value
        for key, value in mmpose_net.state_dict().items()
    }
    converted = convert_mmpose_hourglass_ae_state_dict(state_dict)
    ours = HourglassAE(
        num_stacks=num_stacks,
        feat_channels=feat_channels,
        increase=increase,
        depth=depth,
    )
    ours.eval()
    ours.load_state_dict(
        {key[len('backbone.') :]: value for key, value in converted.items()},
        strict=True,
    )
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = mmpose_net(images)
        outputs = ours(images)
    assert len(outputs) == len(expected) == num_stacks
    for output, expected_output in zip(outputs, expected):
        # randomize_ keeps outputs O(1): a 1e-4 match is meaningful
        assert expected_output.std() > 0.1
        torch.testing.assert_close(
            output, expected_output, rtol=1e-4, atol=1e-4
        )


def test_mmpose_parity_small():
    _mmpose_parity(
        num_stacks=2, feat_channels=32, increase=16, depth=3, seed=3
    )


def test_mmpose_parity_paper_size():
    _mmpose_parity(
        num_stacks=4, feat_channels=256, increase=128, depth=4, seed=4
    )
