from types import SimpleNamespace

import pytest
import torch
from torch import nn

from aeplugin.engine import ChannelsLastHook
from aeplugin.engine.hooks import channels_last_hook


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


def test_a_wrapped_model_is_left_to_its_wrapper(monkeypatch):
    """After DDP laid out its buckets a conversion would misalign them:
    ChannelsLastDistributedDataParallel converts before that."""
    model = _model()
    monkeypatch.setattr(
        channels_last_hook, 'is_model_wrapper', lambda m: m is wrapped
    )
    wrapped = SimpleNamespace(module=model)
    monkeypatch.setattr(torch.Tensor, 'is_cuda', True)
    ChannelsLastHook().before_run(SimpleNamespace(model=wrapped))
    monkeypatch.undo()
    assert model.backbone[0].weight.is_contiguous()


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_a_cuda_model_becomes_channels_last_unless_disabled():
    model = _model().cuda()
    ChannelsLastHook(enabled=False).before_run(SimpleNamespace(model=model))
    assert model.backbone[0].weight.is_contiguous()
    ChannelsLastHook().before_run(SimpleNamespace(model=model))
    weight = model.backbone[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
