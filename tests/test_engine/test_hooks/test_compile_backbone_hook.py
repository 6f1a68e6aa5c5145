import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from torch import nn
from torch._dynamo.utils import counters

from aeplugin.engine import CompileBackboneHook

ROOT = Path(__file__).parents[3]
CONFIG = 'configs/ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py'


def _model():
    model = nn.Module()
    model.backbone = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    return model


@pytest.mark.slow
def test_compile_backbone_in_place_keeps_names_and_outputs():
    model = _model().eval()
    names = list(model.state_dict())
    x = torch.randn(1, 3, 9, 9, generator=torch.Generator().manual_seed(0))
    expected = model.backbone(x)
    hook = CompileBackboneHook(backend='eager')
    hook.before_run(SimpleNamespace(model=model))
    assert model.backbone._compiled_call_impl is not None
    assert list(model.state_dict()) == names
    torch.testing.assert_close(model.backbone(x), expected)
    # validation and test run the same module uncompiled
    runner = SimpleNamespace(model=model)
    hook.before_val_epoch(runner)
    assert model.backbone._compiled_call_impl is None
    hook.after_val_epoch(runner)
    assert model.backbone._compiled_call_impl is not None
    hook.before_test_epoch(runner)
    assert model.backbone._compiled_call_impl is None


class _Recorder(Hook):
    """Records whether each iteration ran the compiled backbone, and the
    graphs compiled after the first training iteration."""

    priority = 'LOWEST'

    def __init__(self):
        self.train, self.val, self.graphs_after_first = [], [], None

    @staticmethod
    def _compiled(runner):
        return runner.model.backbone._compiled_call_impl is not None

    def after_train_iter(
        self, runner, batch_idx, data_batch=None, outputs=None
    ):
        self.train.append(self._compiled(runner))
        if self.graphs_after_first is None:
            self.graphs_after_first = counters['stats']['unique_graphs']

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.val.append(self._compiled(runner))


@pytest.mark.slow
def test_compile_flag_compiles_once_for_training(tmp_path, monkeypatch):
    """tools/train.py --compile on the tiny model: 5 images in batches of 2
    (a short last batch, dropped), 2 epochs, validation after each: the
    graphs compiled in the first iteration are all there are, and
    validation runs the backbone uncompiled.

    Whether a call compiles again is dynamo's decision (its guards on
    shapes, grad mode, training flag), the same for every backend; the
    ``aot_eager`` backend traces forward and backward as inductor does
    without inductor's C++ build (a minute here; that inductor builds this
    backbone is tests/test_tools/test_train_test_tools.py's check)."""
    monkeypatch.chdir(ROOT)
    sys.path.insert(0, str(ROOT / 'tools'))
    try:
        import train
    finally:
        sys.path.pop(0)
    options = [
        'model.backbone.num_stacks=1',
        'model.backbone.feat_channels=16',
        'model.backbone.increase=8',
        'model.backbone.stem_channels=(8,16)',
        'train_dataloader.batch_size=2',
        'train_dataloader.dataset.indices=5',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.dataset.indices=2',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=2',
        'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=2',
    ]
    args = train.parse_args(
        [CONFIG, '--compile', '--work-dir', str(tmp_path), '--cfg-options']
        + options
    )
    cfg = train.merge_args(Config.fromfile(CONFIG), args)
    assert cfg.train_dataloader.drop_last is True
    cfg.default_hooks.compile_backbone.backend = 'aot_eager'
    torch._dynamo.reset()
    counters.clear()
    runner = Runner.from_cfg(cfg)
    recorder = _Recorder()
    runner.register_hook(recorder)
    runner.train()
    assert recorder.train == [True] * 4  # 2 whole batches per epoch
    assert recorder.val == [False] * 2 * 2  # 2 images, 2 validations
    assert recorder.graphs_after_first >= 1
    assert counters['stats']['unique_graphs'] == recorder.graphs_after_first
