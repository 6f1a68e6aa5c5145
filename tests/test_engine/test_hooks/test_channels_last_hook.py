from types import SimpleNamespace

import pytest
import torch
from torch import nn

from aeplugin.engine import ChannelsLastHook, CompileBackboneHook


def _model():
    model = nn.Module()
    model.backbone = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    return model


def test_a_cpu_model_stays_as_it_is():
    model = _model()
    ChannelsLastHook().before_run(SimpleNamespace(model=model))
    weight = model.backbone[0].weight
    assert weight.is_contiguous()
    assert not weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_a_cuda_model_becomes_channels_last_unless_disabled():
    model = _model().cuda()
    ChannelsLastHook(enabled=False).before_run(SimpleNamespace(model=model))
    assert model.backbone[0].weight.is_contiguous()
    ChannelsLastHook().before_run(SimpleNamespace(model=model))
    weight = model.backbone[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.slow
def test_compile_backbone_in_place_keeps_names_and_outputs():
    model = _model().eval()
    names = list(model.state_dict())
    x = torch.randn(1, 3, 9, 9, generator=torch.Generator().manual_seed(0))
    expected = model.backbone(x)
    CompileBackboneHook(backend='eager').before_run(
        SimpleNamespace(model=model)
    )
    assert model.backbone._compiled_call_impl is not None
    assert list(model.state_dict()) == names
    torch.testing.assert_close(model.backbone(x), expected)
