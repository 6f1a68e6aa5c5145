"""The HigherHRNet converter against a network built from the official
architecture's description (tests/test_tools/official_higher_hrnet.py)."""

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from aeplugin.registry import MODELS
from aeplugin.testing import randomize_weights_
from tools.model_converters.convert_higherhrnet import (
    convert_state_dict,
    main,
)

from .official_higher_hrnet import OfficialHigherHRNet

ROOT = Path(__file__).parents[2]
W32_CONFIG = ROOT / 'configs' / 'ae_higherhrnet-w32_8xb12-300e_coco-512x512.py'
# a small HigherHRNet: stem planes 8, one block per branch, stage modules
# (1, 1, 2) so that stage 4 has a module of every output and the last one
SMALL_CONFIG = f"""
_base_ = ['{W32_CONFIG}']
model = dict(
    backbone=dict(
        init_cfg=None,
        extra=dict(
            stage1=dict(num_blocks=(1,), num_channels=(8,)),
            stage2=dict(num_blocks=(1, 1), num_channels=({{w}}, {{w2}})),
            stage3=dict(
                num_modules=1,
                num_blocks=(1, 1, 1),
                num_channels=({{w}}, {{w2}}, {{w4}}),
            ),
            stage4=dict(
                num_modules=2,
                num_blocks=(1, 1, 1, 1),
                num_channels=({{w}}, {{w2}}, {{w4}}, {{w8}}),
            ),
        ),
    ),
    head=dict(in_channels={{w}}, num_basic_blocks=2),
)
"""


def _small_config(folder: Path, width: int) -> Path:
    path = Path(folder) / f'higherhrnet_w{width}.py'
    path.write_text(
        SMALL_CONFIG.format(w=width, w2=2 * width, w4=4 * width, w8=8 * width)
    )
    return path


def _ours(config):
    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope('aeplugin'):
        return MODELS.build(cfg.model)


def _official(width):
    return OfficialHigherHRNet(
        channels=(width, 2 * width, 4 * width, 8 * width),
        stem_planes=8,
        layer1_blocks=1,
        num_blocks=1,
        num_modules=(1, 1, 2),
        num_basic_blocks=2,
    )


def _randomize(model, seed):
    """O(1) weights everywhere, transposed convs included."""
    randomize_weights_(model, seed)
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.ConvTranspose2d):
                fan_in = module.weight.shape[0] * 4  # stride 2, kernel 4
                module.weight.normal_(
                    0, (2 / fan_in) ** 0.5, generator=generator
                )
    return model.eval()


def _assert_same_outputs(official, ours):
    x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        low, high = official(x)
        heatmaps, tags, heatmaps_2x = ours.head.forward_resolutions(
            ours.extract_feat(x)
        )
    assert high.shape == heatmaps_2x.shape == (2, 17, 32, 48)
    assert high.abs().max() > 0.1  # O(1) outputs
    torch.testing.assert_close(
        torch.cat([heatmaps, tags], 1), low, rtol=0, atol=1e-5
    )
    torch.testing.assert_close(heatmaps_2x, high, rtol=0, atol=1e-5)


def test_official_weights_convert_both_ways_with_equal_outputs(tmp_path):
    config = _small_config(tmp_path, 8)
    official = _randomize(_official(8), seed=0)
    ours = _ours(config).eval()
    converted = convert_state_dict(official.state_dict(), ours.state_dict())
    # every key used: the two state dicts convert one to one
    assert len(converted) == len(official.state_dict())
    ours.load_state_dict(converted, strict=True)
    _assert_same_outputs(official, ours)

    # and back: our random weights in the official layout
    ours = _randomize(_ours(config), seed=1)
    official = _official(8).eval()
    back = convert_state_dict(
        ours.state_dict(), official.state_dict(), reverse=True
    )
    official.load_state_dict(back, strict=True)
    _assert_same_outputs(official, ours)


def test_w32_and_w48_official_layouts_fill_the_paper_configs():
    for width, config in (
        (32, W32_CONFIG),
        (48, ROOT / 'configs/ae_higherhrnet-w48_8xb10-300e_coco-640x640.py'),
    ):
        official = OfficialHigherHRNet(
            (width, 2 * width, 4 * width, 8 * width)
        )
        cfg = Config.fromfile(config)
        cfg.model.backbone.init_cfg = None
        with DefaultScope.overwrite_default_scope('aeplugin'):
            ours = MODELS.build(cfg.model)
        converted = convert_state_dict(
            # a DataParallel checkpoint's prefix is dropped
            {f'module.{k}': v for k, v in official.state_dict().items()},
            ours.state_dict(),
        )
        assert len(converted) == len(official.state_dict())
        loaded = ours.load_state_dict(converted, strict=True)
        assert not loaded.missing_keys and not loaded.unexpected_keys


def test_another_width_and_unknown_keys_are_named(tmp_path):
    ours = _ours(_small_config(tmp_path, 8)).state_dict()
    with pytest.raises(ValueError, match='HRNet of width 16 .* width 8'):
        convert_state_dict(_official(16).state_dict(), ours)
    state = _official(8).state_dict()
    state['extra_head.weight'] = torch.zeros(1)
    del state['final_layers.1.bias']
    with pytest.raises(
        ValueError,
        match=r'1 key\(s\) of the checkpoint .* extra_head\.weight; 1 key\(s\)'
        r' of the model .* head\.higher_final_layer\.bias',
    ):
        convert_state_dict(state, ours)


def test_command_line_writes_a_loadable_checkpoint(tmp_path):
    config = _small_config(tmp_path, 8)
    official = _randomize(_official(8), seed=2)
    src, dst = tmp_path / 'official.pth', tmp_path / 'ours.pth'
    torch.save(official.state_dict(), src)
    main([str(src), str(dst), '--config', str(config)])
    checkpoint = torch.load(dst, weights_only=True)
    assert 'convert_higherhrnet' in checkpoint['meta']['converted_by']
    ours = _ours(config).eval()
    ours.load_state_dict(checkpoint['state_dict'], strict=True)
    _assert_same_outputs(official, ours)
