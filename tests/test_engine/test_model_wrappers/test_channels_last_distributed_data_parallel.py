import sys
import threading
import warnings
from pathlib import Path

import pytest
import torch
from mmengine import registry as mmengine_registry
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

from aeplugin.engine import ChannelsLastDistributedDataParallel
from aeplugin.registry import MODEL_WRAPPERS

ROOT = Path(__file__).parents[3]
sys.path.insert(0, str(ROOT))
from tools.benchmark.gpu_check import (  # noqa: E402
    STRIDE_WARNING,
    run_ddp_pair,
)

sys.path.pop(0)


def _conv_weight_is_channels_last(channels_last):
    model = nn.Sequential(nn.Conv2d(3, 8, 3))
    runtime = Config.fromfile(ROOT / 'configs/_base_/default_runtime.py')
    with DefaultScope.overwrite_default_scope('aeplugin'):
        wrapped = MODEL_WRAPPERS.build(
            dict(runtime.model_wrapper_cfg, channels_last=channels_last),
            default_args=dict(module=model),
        )
    assert type(wrapped) is ChannelsLastDistributedDataParallel
    return model[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_the_configs_wrapper_converts_a_gpu_model_only(one_process_group):
    assert not _conv_weight_is_channels_last('cuda')  # a CPU model
    assert not _conv_weight_is_channels_last('never')
    assert _conv_weight_is_channels_last('always')
    with pytest.raises(ValueError, match='channels_last must be one of'):
        ChannelsLastDistributedDataParallel(nn.Linear(1, 1), 'yes')


def _ddp_step_warnings(convert_after):
    """The warnings of one DDP step of a conv net made channels-last by the
    configs' wrapper, or after wrapping (what ChannelsLastHook did in
    before_run), and the weight's gradient."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 4, 3))
    runtime = Config.fromfile(ROOT / 'configs/_base_/default_runtime.py')
    wrapper_cfg = dict(runtime.model_wrapper_cfg, channels_last='always')
    if convert_after:
        wrapper_cfg.update(type='mmengine.MMDistributedDataParallel')
        wrapper_cfg.pop('channels_last')
    with DefaultScope.overwrite_default_scope('aeplugin'):
        ddp = MODEL_WRAPPERS.build(
            wrapper_cfg, default_args=dict(module=model)
        )
    if convert_after:
        model.to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        ddp(x.to(memory_format=torch.channels_last)).pow(2).mean().backward()
    return [str(w.message) for w in caught], model[0].weight.grad


def test_converting_after_ddp_misaligns_its_buckets(one_process_group):
    """The control of the check below: DDP lays its buckets out for the
    parameters it was given, and a conversion after that makes it warn
    (and, in torch 2.14 on the CPU, return gradients at permuted
    positions)."""
    before, grad = _ddp_step_warnings(convert_after=False)
    after, misplaced = _ddp_step_warnings(convert_after=True)
    assert not any(STRIDE_WARNING in w for w in before), before
    assert any(STRIDE_WARNING in w for w in after), after
    # the same values either way, not always at the same positions
    torch.testing.assert_close(
        misplaced.flatten().sort().values, grad.flatten().sort().values
    )


@pytest.mark.slow
def test_channels_last_before_ddp_lays_out_its_buckets(tmp_path):
    """2 gloo processes, 3 steps of a conv net (rank 1's second batch NaN,
    skipped by both). Converted by the configs' wrapper before DDP: no
    stride warning, and after every step the weights of DDP on the NCHW
    model, bit for bit (converted after DDP, the warning comes: see the
    test above)."""
    runs, threads = {}, []
    for wrap in ('config', 'nchw'):
        (tmp_path / wrap).mkdir()
        # both pairs at once: 4 processes that mostly start up
        threads.append(
            threading.Thread(
                target=lambda w=wrap: runs.update(
                    {w: run_ddp_pair('cpu', str(tmp_path / w), w)}
                )
            )
        )
        threads[-1].start()
    for thread in threads:
        thread.join()
    for wrap, run in runs.items():
        assert not run['hung'] and None not in run['ranks'], run['log']
        assert [r['skipped'] for r in run['ranks']] == [1, 1], wrap
        assert all(r['channels_last'] for r in run['ranks']) == (
            wrap != 'nchw'
        )
    wrapper = runs['config']
    assert STRIDE_WARNING not in wrapper['log']
    assert not any(r['warnings'] for r in wrapper['ranks']), [
        r['warnings'] for r in wrapper['ranks']
    ]
    for ours, nchw in zip(wrapper['ranks'], runs['nchw']['ranks']):
        # the skipped step kept the weights
        for key in ours['weights'][0]:
            assert torch.equal(
                ours['weights'][1][key], ours['weights'][0][key]
            )
            assert not torch.equal(
                ours['weights'][2][key], ours['weights'][1][key]
            )
        for step, (a, b) in enumerate(zip(ours['weights'], nchw['weights'])):
            for key in a:
                assert torch.equal(a[key], b[key]), (step, key)


def test_fp32_flag_turns_the_conversion_off():
    sys.path.insert(0, str(ROOT / 'tools'))
    try:
        import train
    finally:
        sys.path.pop(0)
    config = str(
        ROOT / 'configs/ae_hourglass-4stack_8xb6-300e_coco-512x512.py'
    )
    default = train.merge_args(
        Config.fromfile(config), train.parse_args([config])
    )
    # where the Runner looks it up: mmengine's root registry
    assert (
        mmengine_registry.MODEL_WRAPPERS.get(default.model_wrapper_cfg.type)
        is ChannelsLastDistributedDataParallel
    )
    assert 'channels_last' not in default.model_wrapper_cfg  # 'cuda'
    fp32 = train.merge_args(
        Config.fromfile(config), train.parse_args([config, '--fp32'])
    )
    assert fp32.model_wrapper_cfg.channels_last == 'never'
