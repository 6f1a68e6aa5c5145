"""inference_bottomup in batches: images of one input shape per batch, the
predictions of batch 1; a batch of mixed shapes reaching the model."""

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope

from aeplugin.apis import apply_test_time_options, inference_bottomup

from .tiny_model import IMAGES, ROOT, random_tiny_model, write_tiny_config

# the 4 test images (landscape) and two portrait images of data/coco-mini
PORTRAITS = [
    str(ROOT / 'data/coco-mini/train2017' / f'{i:012d}.jpg')
    for i in (69468, 535506)
]
MIXED = [IMAGES[0], PORTRAITS[0], IMAGES[1], IMAGES[2], PORTRAITS[1]]


@pytest.fixture(scope='module')
def config_file(tmp_path_factory):
    return write_tiny_config(tmp_path_factory.mktemp('config'))


def _model(config_file, resize_mode='expand', restore=True, **options):
    cfg = Config.fromfile(config_file)
    cfg.test_dataloader.dataset.pipeline[1].resize_mode = resize_mode
    if not restore:
        cfg.model.test_cfg.restore_heatmap_size = False
        cfg.model.head.decoder.heatmap_size = (32, 32)
    return random_tiny_model(apply_test_time_options(cfg, **options))


class BatchShapes:
    """Records the input shapes of each batch the model runs."""

    def __init__(self, model):
        self.batches, self._test_step = [], model.test_step
        model.test_step = self

    def __call__(self, data):
        inputs = data['inputs']
        # one scale: B tensors; a pyramid: S sequences of B tensors
        first = inputs if isinstance(inputs[0], torch.Tensor) else inputs[0]
        self.batches.append([tuple(x.shape) for x in first])
        return self._test_step(data)


def _assert_same(results, expected):
    assert len(results) == len(expected)
    for a, b in zip(results, expected):
        a, b = a.pred_instances, b.pred_instances
        for field in ('keypoints', 'keypoint_scores', 'keypoint_tags'):
            np.testing.assert_array_equal(a.get(field), b.get(field), field)


@pytest.mark.parametrize('resize_mode', ['expand', 'fit'])
@pytest.mark.parametrize(
    'options',
    [dict(tta='flip'), dict(tta='multiscale', scales=[1, 0.5])],
    ids=['flip', 'ms'],
)
def test_batches_of_one_shape_predict_as_batch_1(
    config_file, resize_mode, options
):
    model = _model(config_file, resize_mode, **options)
    # without oneDNN, whose rounding depends on the batch size, each
    # image's maps are bitwise those of batch 1
    with torch.backends.mkldnn.flags(enabled=False):
        expected = inference_bottomup(model, MIXED, batch_size=1)
        shapes = BatchShapes(model)
        results = inference_bottomup(model, MIXED, batch_size=2)
        everything = inference_bottomup(model, MIXED)
    _assert_same(results, expected)
    _assert_same(everything, expected)
    assert [r.metainfo['img_path'] for r in results] == MIXED
    assert all(len(set(batch)) == 1 for batch in shapes.batches)
    sizes = [len(batch) for batch in shapes.batches]
    if resize_mode == 'fit':
        # one shape: batches as they come, 2 + 2 + 1, then all 5
        assert sizes == [2, 2, 1, 5]
    else:
        # landscape 0, 2 then 3; portrait 1, 4; then one batch per shape
        assert sizes[:3] == [2, 2, 1] and len(sizes) > 4


def test_a_long_list_is_run_as_it_comes(config_file, monkeypatch):
    """A batch runs once full: the images of a long list are not all
    loaded first (at most one incomplete batch per shape waits)."""
    model = _model(config_file, tta='none')
    loaded = []

    class CountingCompose(Compose):
        def __call__(self, data):
            loaded.append(data)
            return super().__call__(data)

    monkeypatch.setattr('aeplugin.apis.inference.Compose', CountingCompose)
    step, loaded_at_step = model.test_step, []

    def test_step(data):
        loaded_at_step.append(len(loaded))
        return step(data)

    model.test_step = test_step
    results = inference_bottomup(model, IMAGES[:1] * 5, batch_size=2)
    assert loaded_at_step == [2, 4, 5] and len(results) == 5


@pytest.mark.parametrize(
    'restore',
    [
        True,
        False,
    ],
)
def test_a_batch_of_mixed_shapes_is_refused_by_the_model(config_file, restore):
    """The data preprocessor pads a batch to its largest image, which would
    change every output; the model must refuse it."""
    model = _model(config_file, restore=restore, tta='flip')
    with DefaultScope.overwrite_default_scope('aeplugin'):
        pipeline = Compose(model.cfg.test_dataloader.dataset.pipeline)
    samples = [
        pipeline(dict(img_path=path, **model.dataset_meta))
        for path in (IMAGES[0], PORTRAITS[0])
    ]
    assert samples[0]['inputs'].shape != samples[1]['inputs'].shape
    with (
        torch.no_grad(),
        pytest.raises(ValueError, match='input (size|shape)'),
    ):
        model.test_step(pseudo_collate(samples))
