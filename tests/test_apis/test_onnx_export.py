import json

import cv2
import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from mmengine.config import Config

from aeplugin.apis import ExportedNetwork, export_onnx, init_model
from aeplugin.apis.onnx_export import (
    META_CONFIG,
    META_DECODER,
    META_FLIP,
    META_INPUT_SIZE,
    META_TEST_CFG,
)
from aeplugin.testing import randomize_weights_

from .onnx_models import distinct_tiny_model, export_tiny, unpadded_images
from .tiny_model import ROOT, write_tiny_config

PAPER_CONFIG = ROOT / 'configs/ae_hourglass-4stack_8xb6-300e_coco-512x512.py'


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp('onnx_export')
    return distinct_tiny_model(write_tiny_config(folder)), folder


def _metadata(path) -> dict:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def _normalised(model, image: np.ndarray, size) -> torch.Tensor:
    """A real image resized to ``size`` (W, H), as RGB normalised with the
    model's data preprocessor's mean and std, as the graph receives it."""
    rgb = cv2.resize(image, tuple(size))[..., ::-1]
    inputs = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float()
    preprocessor = model.data_preprocessor
    return (inputs - preprocessor.mean) / preprocessor.std


def test_dynamic_export_is_checked_and_carries_the_decode_settings(tiny):
    model, folder = tiny
    path = export_tiny(model, folder, flip=True)
    onnx.checker.check_model(str(path))
    meta = _metadata(path)
    stored = Config.fromstring(meta[META_CONFIG], '.py')
    assert stored.model.head.num_keypoints == 17
    assert json.loads(meta[META_DECODER]) == json.loads(
        json.dumps(model.cfg.model.head.decoder.to_dict())
    )
    assert json.loads(meta[META_TEST_CFG]) == dict(
        flip_test=True, restore_heatmap_size=True
    )
    assert json.loads(meta[META_FLIP]) is True
    assert json.loads(meta[META_INPUT_SIZE]) is None
    inputs = onnxruntime.InferenceSession(str(path)).get_inputs()
    assert inputs[0].shape == ['batch', 3, 'height', 'width']


def test_fixed_size_export_fits_the_test_pipeline(tiny):
    model, folder = tiny
    path = export_tiny(model, folder, input_size=(192, 128))
    meta = _metadata(path)
    assert json.loads(meta[META_INPUT_SIZE]) == [192, 128]
    assert json.loads(meta[META_FLIP]) is False
    stored = Config.fromstring(meta[META_CONFIG], '.py')
    resize = stored.test_dataloader.dataset.pipeline[1]
    assert (resize.type, resize.resize_mode) == ('BottomupResize', 'fit')
    assert tuple(resize.input_size) == (192, 128)
    # the model's own config is left as it was
    assert model.cfg.test_dataloader.dataset.pipeline[1].resize_mode == (
        'expand'
    )
    session = onnxruntime.InferenceSession(str(path))
    assert session.get_inputs()[0].shape == ['batch', 3, 128, 192]


def test_input_size_must_suit_the_resize(tiny):
    model, folder = tiny
    with pytest.raises(ValueError, match='multiples of .* size_factor 64'):
        export_onnx(model, folder / 'bad.onnx', input_size=(200, 128))
    assert not (folder / 'bad.onnx').exists()


def test_tiny_graph_equals_torch_on_a_real_image(tiny):
    model, folder = tiny
    path = export_tiny(model, folder, flip=True)
    inputs = _normalised(model, unpadded_images()[0], (192, 128))
    with torch.no_grad():
        expected = ExportedNetwork(model, flip=True)(inputs)
    session = onnxruntime.InferenceSession(str(path))
    got = session.run(None, {'inputs': inputs.numpy()})
    for want, have in zip(expected, got):
        assert have.shape == (2, *want.shape[1:])
        assert np.abs(want.numpy()).max() > 0.5  # O(1) outputs
        np.testing.assert_allclose(have, want.numpy(), rtol=0, atol=1e-4)


@pytest.mark.slow
def test_paper_network_exports_and_equals_torch(tmp_path):
    model = randomize_weights_(
        init_model(str(PAPER_CONFIG), None, device='cpu')
    )
    path = export_onnx(model, tmp_path / 'paper.onnx', input_size=(256, 256))
    inputs = _normalised(model, unpadded_images()[1], (256, 256))
    with torch.no_grad():
        expected = ExportedNetwork(model, flip=False)(inputs)
    got = onnxruntime.InferenceSession(str(path)).run(
        None, {'inputs': inputs.numpy()}
    )
    for want, have in zip(expected, got):
        assert have.shape == tuple(want.shape) == (1, 17, 64, 64)
        scale = float(np.abs(want.numpy()).max())
        np.testing.assert_allclose(
            have, want.numpy(), rtol=0, atol=1e-4 * max(scale, 1.0)
        )


@pytest.mark.parametrize('input_size', [None, (192, 128)])
def test_torch_export_path_equals_torch(tiny, input_size):
    model, folder = tiny
    path = export_onnx(
        model,
        folder / f'dynamo_{input_size is None}.onnx',
        flip=True,
        input_size=input_size,
        dynamo=True,
    )
    onnx.checker.check_model(str(path))
    assert json.loads(_metadata(path)[META_FLIP]) is True
    session = onnxruntime.InferenceSession(str(path))
    # a dynamic graph takes any multiple of the resize's size_factor (64)
    sizes = [(192, 128), (128, 256)] if input_size is None else [input_size]
    for size in sizes:
        inputs = _normalised(model, unpadded_images()[0], size)
        with torch.no_grad():
            expected = ExportedNetwork(model, flip=True)(inputs)
        got = session.run(None, {'inputs': inputs.numpy()})
        for want, have in zip(expected, got):
            assert have.shape == tuple(want.shape)
            np.testing.assert_allclose(have, want.numpy(), rtol=0, atol=1e-4)
