from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

from aeplugin.datasets import bottomup_collate
from aeplugin.engine import BF16OptimWrapper
from aeplugin.registry import DATASETS, MODELS
from aeplugin.testing import randomize_weights_

ROOT = Path(__file__).parents[3]
CONFIG = ROOT / 'configs' / 'ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py'


class _Probe(nn.Module):
    """Records the dtype its linear layer computes in."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, x):
        out = self.linear(x)
        self.dtype = out.dtype
        return dict(loss=out.float().pow(2).mean())


def _step(wrapper, model, x):
    with wrapper.optim_context(model):
        loss = model(x)['loss']
    wrapper.update_params(loss)


def test_config_default_builds_and_a_cpu_model_trains_in_float32():
    with DefaultScope.overwrite_default_scope('aeplugin'):
        cfg = Config.fromfile(CONFIG)
        model = _Probe()
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    assert type(wrapper) is BF16OptimWrapper
    assert not hasattr(wrapper, 'loss_scaler')  # no GradScaler
    reference = _Probe()
    reference.load_state_dict(model.state_dict())
    plain = OptimWrapper(torch.optim.SGD(reference.parameters(), lr=0.1))
    wrapper = BF16OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(0))
    _step(wrapper, model, x)
    _step(plain, reference, x)
    assert model.dtype == torch.float32
    for a, b in zip(model.parameters(), reference.parameters()):
        assert torch.equal(a, b)

    on_cpu = BF16OptimWrapper(
        torch.optim.SGD(model.parameters(), lr=0.1), on_cpu=True
    )
    _step(on_cpu, model, x)
    assert model.dtype == torch.bfloat16


def test_nonfinite_loss_still_stops():
    model = _Probe()
    wrapper = BF16OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(FloatingPointError, match='non-finite loss'):
        _step(wrapper, model, torch.full((2, 4), float('nan')))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_a_cuda_model_autocasts_to_bfloat16():
    model = _Probe().cuda()
    wrapper = BF16OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    _step(wrapper, model, torch.randn(8, 4, device='cuda'))
    assert model.dtype == torch.bfloat16


# bfloat16 keeps 8 significant bits: each rounding of a value is off by
# at most 2^-9 (0.2%) of it. The network rounds its activations at every
# layer, so the first step's terms differ from float32's by a few times
# that: loss_kpt, a mean of squares over every heatmap pixel, by 0.2% on
# every CPU tried (oneDNN's AMX, AVX-512 and AVX2 kernels); the tag terms,
# variances and distances of nearby tags (cancellation), by up to 1.8%.
# The bounds are 8x and 3.5x those, 2^-6 and 2^-4; the gradients point the
# same way within cos >= 0.85 (0.95 measured on each). Adam amplifies the
# rounding over later steps by amounts that depend on the CPU's kernels,
# so later steps are checked only for falling, by a clear margin.
KPT_BOUND, TAG_BOUND, MIN_COSINE = 2**-6, 2**-4, 0.85
STEPS = 8
SIZE = 128  # input side: bfloat16 convolutions without bf16 units are slow


def _tiny_cfg():
    """The main job's config at a SIZE x SIZE input with its smallest
    stem and features."""
    cfg = Config.fromfile(CONFIG)
    codec = dict(
        cfg.codec, input_size=(SIZE, SIZE), heatmap_size=(SIZE // 4,) * 2
    )
    for step in cfg.train_dataloader.dataset.pipeline:
        if 'input_size' in step:
            step.input_size = (SIZE, SIZE)
        if step.get('type') == 'GenerateTarget':
            step.encoder = codec
    cfg.model.backbone.update(
        feat_channels=16, increase=8, stem_channels=(8, 16)
    )
    cfg.model.head.decoder = codec
    return cfg


@pytest.fixture(scope='module')
def setup():
    """The config and 3 batches of the 2+2+2 shipped images with the most
    people (so that every batch has pull and push terms)."""
    cfg = _tiny_cfg()
    with DefaultScope.overwrite_default_scope('aeplugin'):
        dataset = DATASETS.build(
            dict(
                cfg.train_dataloader.dataset,
                data_root=str(ROOT / cfg.data_root),
            )
        )
    np.random.seed(0)
    samples = [dataset[i] for i in range(len(dataset))]
    people = [
        len(s['data_samples'].gt_instance_labels.keypoint_indices)
        for s in samples
    ]
    most = np.argsort(people, kind='stable')[::-1][:6]
    batches = [
        bottomup_collate([samples[most[2 * i]], samples[most[2 * i + 1]]])
        for i in range(3)
    ]
    return cfg, batches


def _model(cfg):
    with DefaultScope.overwrite_default_scope('aeplugin'):
        model = MODELS.build(cfg.model)
    randomize_weights_(model, seed=0)
    return model.train()


def _first_step(model, wrapper, batch):
    """The loss terms and the flat gradient of one step, not applied."""
    with wrapper.optim_context(model):
        data = model.data_preprocessor(batch, True)
        losses = model._run_forward(data, mode='loss')
    loss, _ = model.parse_losses(losses)
    wrapper.backward(loss)
    grad = torch.cat([p.grad.flatten() for p in model.parameters()])
    wrapper.zero_grad()
    return {k: v.item() for k, v in losses.items()}, grad


def _run(cfg, batches, **options):
    """The first step's terms and gradient, then the summed loss of STEPS
    Adam steps over the batches in turn."""
    model = _model(cfg)
    wrapper = BF16OptimWrapper(
        torch.optim.Adam(model.parameters(), lr=1e-3), **options
    )
    terms, grad = _first_step(model, wrapper, batches[0])
    curve = []
    for step in range(STEPS):
        log = model.train_step(batches[step % len(batches)], wrapper)
        curve.append(sum(float(log[k]) for k in terms))
    return terms, grad, np.array(curve)


@pytest.mark.slow
def test_bfloat16_training_tracks_float32(setup):
    """The main job's model (at 128, smallest widths) in float32 and in
    bfloat16 autocast (forced on the CPU): the first step's terms and
    gradient agree within what bfloat16's rounding allows, and both runs'
    summed loss falls by more than 30% in 8 steps (0.83 to 0.25 measured)."""
    cfg, batches = setup
    fp32 = _run(cfg, batches)
    bf16 = _run(cfg, batches, on_cpu=True)
    report = dict(fp32=fp32[0], bf16=bf16[0])
    for name in ('loss_kpt', 'loss_pull', 'loss_push'):
        bound = KPT_BOUND if name == 'loss_kpt' else TAG_BOUND
        reference = fp32[0][name]
        assert reference > 0, report
        assert abs(bf16[0][name] - reference) <= bound * reference, report
    cosine = torch.nn.functional.cosine_similarity(fp32[1], bf16[1], dim=0)
    assert cosine >= MIN_COSINE, cosine
    for curve in (fp32[2], bf16[2]):
        assert curve[-3:].mean() < 0.7 * curve[:3].mean(), (fp32[2], bf16[2])


@pytest.mark.slow
def test_losses_reduce_in_float32_under_bfloat16_autocast(setup):
    """Under bfloat16 autocast the network's maps are bfloat16, but the
    heatmap loss and the tag losses must reduce them in float32: on the
    same maps, the losses under autocast equal a float64 computation to
    float32's precision (1e-5; a bfloat16 reduction or tag table is off by
    up to 2^-9). This holds on any CPU: both sides read the same values."""
    cfg, batches = setup
    model = _model(cfg)
    data = model.data_preprocessor(batches[0], True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        feats = model.extract_feat(data['inputs'])
        assert all(f.dtype == torch.bfloat16 for f in feats)
        mixed = model.head.loss(feats, data['data_samples'])
    targets = {
        k: v.double()
        if isinstance(v, torch.Tensor) and v.is_floating_point()
        else v
        for k, v in data['data_samples'].items()
    }
    exact = model.head.loss([f.double() for f in feats], targets)
    for name, value in mixed.items():
        assert value.dtype == torch.float32, name
        torch.testing.assert_close(
            value.double(),
            exact[name],
            rtol=1e-5,
            atol=0,
            msg=lambda m, name=name: f'{name}: {m}',
        )
