import pytest
import torch
from mmengine.registry import DefaultScope
from mmpose.models import HourglassAENet

from aeplugin.models.backbones import HourglassAE
from aeplugin.registry import MODELS
from tools.model_converters.convert_mmpose_hourglass import (
    convert_mmpose_hourglass_ae_state_dict,
    main,
)


def mmpose_state_dict(num_stacks=2, feat_channels=32, increase=16, depth=2):
    stage_channels = [feat_channels + i * increase for i in range(depth + 1)]
    net = HourglassAENet(
        downsample_times=depth,
        num_stacks=num_stacks,
        stage_channels=stage_channels,
        feat_channels=feat_channels,
    )
    return {f'backbone.{k}': v for k, v in net.state_dict().items()}


def build_estimator(num_stacks=2, feat_channels=32, increase=16, depth=2):
    backbone = dict(
        type='HourglassAE',
        num_stacks=num_stacks,
        feat_channels=feat_channels,
        increase=increase,
        depth=depth,
    )
    # mmpose's AE head without deconvs or final conv has no parameters, as
    # in mmpose's hourglass AE model.
    head = dict(
        type='mmpose.AssociativeEmbeddingHead',
        in_channels=34,
        num_keypoints=17,
        deconv_out_channels=None,
        final_layer=None,
    )
    with DefaultScope.overwrite_default_scope('aeplugin'):
        return MODELS.build(
            dict(type='BottomupPoseEstimator', backbone=backbone, head=head)
        )


def test_rename_table_examples():
    state_dict = {
        k: torch.zeros(1)
        for k in [
            'backbone.stem.4.bn.running_var',
            'backbone.hourglass_modules.1.0.low2.low2.up1.bn.weight',
            'backbone.hourglass_modules.0.0.low2.low3.conv.weight',
            'backbone.hourglass_modules.0.0.low1.bn.num_batches_tracked',
            'backbone.hourglass_modules.0.2.conv.weight',
            'backbone.out_convs.3.conv.bias',
            'backbone.remap_out_convs.2.bn.bias',
            'backbone.remap_feature_convs.0.conv.weight',
        ]
    }
    assert list(convert_mmpose_hourglass_ae_state_dict(state_dict)) == [
        'backbone.stem.4.bn.running_var',
        'backbone.stacks.1.hourglass.inner.inner.skip_conv.bn.weight',
        'backbone.stacks.0.hourglass.inner.up_conv.conv.weight',
        'backbone.stacks.0.hourglass.down_conv.bn.num_batches_tracked',
        'backbone.stacks.0.feature_convs.1.conv.weight',
        'backbone.stacks.3.prediction_conv.conv.bias',
        'backbone.stacks.2.remap_prediction.bn.bias',
        'backbone.stacks.0.remap_feature.conv.weight',
    ]


@pytest.mark.parametrize('num_stacks', [1, 2])
def test_converted_keys_match_ours_exactly(num_stacks):
    converted = convert_mmpose_hourglass_ae_state_dict(
        mmpose_state_dict(num_stacks=num_stacks, depth=3)
    )
    ours = HourglassAE(
        num_stacks=num_stacks, feat_channels=32, increase=16, depth=3
    )
    expected = {f'backbone.{k}': v for k, v in ours.state_dict().items()}
    assert sorted(converted) == sorted(expected)
    for key, value in converted.items():
        assert value.shape == expected[key].shape, key


@pytest.mark.parametrize('layout', ['nested', 'bare'])
def test_cli_converts_a_file(tmp_path, layout):
    state_dict = mmpose_state_dict()
    if layout == 'nested':
        checkpoint = dict(
            state_dict=state_dict, meta=dict(epoch=300, note='mmpose')
        )
    else:
        checkpoint = state_dict
    src, dst = tmp_path / 'mmpose.pth', tmp_path / 'aeplugin.pth'
    torch.save(checkpoint, src)

    main([str(src), str(dst)])

    converted = torch.load(dst, weights_only=True)
    assert 'converted' in converted['meta']['converted_by']
    if layout == 'nested':
        assert converted['meta']['epoch'] == 300
    estimator = build_estimator()
    result = estimator.load_state_dict(converted['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    key = 'backbone.stacks.1.hourglass.inner.inner.conv.weight'
    torch.testing.assert_close(
        estimator.state_dict()[key],
        state_dict['backbone.hourglass_modules.1.0.low2.low2.conv.weight'],
    )


def test_paper_size_loads_into_estimator():
    converted = convert_mmpose_hourglass_ae_state_dict(
        mmpose_state_dict(
            num_stacks=4, feat_channels=256, increase=128, depth=4
        )
    )
    estimator = build_estimator(
        num_stacks=4, feat_channels=256, increase=128, depth=4
    )
    result = estimator.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_unknown_keys_are_listed():
    state_dict = mmpose_state_dict()
    state_dict['backbone.hourglass_modules.0.0.low4.conv.weight'] = (
        torch.zeros(1)
    )
    state_dict['head.final_layer.weight'] = torch.zeros(1)
    state_dict['backbone.stacks.0.prediction_conv.conv.weight'] = torch.zeros(
        1
    )
    with pytest.raises(ValueError) as error:
        convert_mmpose_hourglass_ae_state_dict(state_dict)
    message = str(error.value)
    assert message.startswith('3 key(s)')
    for key in [
        'backbone.hourglass_modules.0.0.low4.conv.weight',
        'head.final_layer.weight',
        'backbone.stacks.0.prediction_conv.conv.weight',
    ]:
        assert key in message


def test_empty_state_dict_is_an_error():
    with pytest.raises(ValueError, match='empty'):
        convert_mmpose_hourglass_ae_state_dict({})
