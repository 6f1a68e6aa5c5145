"""HigherHRNet through the inference API: flip and multi-scale test,
refine, batches, and its ONNX export with the aggregation in the graph."""

import numpy as np
import onnxruntime
import pytest
import torch
from mmengine.config import Config

from aeplugin.apis import (
    ExportedNetwork,
    apply_test_time_options,
    inference_bottomup,
    init_onnx_model,
)

from .onnx_models import distinct_tiny_model, export_tiny, unpadded_images
from .test_batched_inference import MIXED
from .test_onnx_inference import _assert_same_people
from .tiny_higherhrnet import write_tiny_higher_config

K = 17
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp('higherhrnet')
    return distinct_tiny_model(write_tiny_higher_config(folder)), folder


def _model(folder, **options):
    """The tiny model (O(1) random weights) with test-time options."""
    cfg = Config.fromfile(write_tiny_higher_config(folder))
    return distinct_tiny_model(apply_test_time_options(cfg, **options))


def test_flip_test_maps_are_the_hand_shifted_mirror_average(tiny):
    """At the 1/2 output (stride 2) a mirrored pass's pixel i lies at input
    pixel 2 i + 1: half an output pixel right of the original pass's, so
    output pixel i averages mirrored pixels i - 1 and i (the first reads
    pixel 0)."""
    model, _ = tiny
    image = unpadded_images()[0][:128, :128]
    # the maps at the network's 1/2 output (the decoded keypoints, scaled
    # for maps of the input size, are not looked at)
    model.test_cfg = dict(
        flip_test=True, restore_heatmap_size=False, output_heatmaps=True
    )
    try:
        (result,) = inference_bottomup(model, [image])
    finally:
        model.test_cfg = dict(model.cfg.model.test_cfg)
    preprocessor = model.data_preprocessor
    rgb = torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1)[None]
    inputs = (rgb.float() - preprocessor.mean) / preprocessor.std
    with torch.no_grad():
        heatmaps, tags = ExportedNetwork(model, flip=True)(inputs)
    assert heatmaps.shape == (2, K, 64, 64)  # aggregated at 1/2
    mirrored = heatmaps[1:].flip(-1)[:, COCO_FLIP]
    shifted = torch.cat([mirrored[..., :1], mirrored[..., :-1]], -1)
    shifted = (shifted + mirrored) / 2
    expected = (heatmaps[:1] + shifted) / 2
    got = torch.as_tensor(result.pred_fields.heatmaps)[None]
    # O(1) maps whose neighbours differ by O(0.1): a wrong shift shows;
    # the bound leaves room for oneDNN's batch-dependent rounding (the
    # passes ran one at a time there, as a batch of two here)
    assert (heatmaps[:, :, 1:] - heatmaps[:, :, :-1]).abs().mean() > 0.05
    torch.testing.assert_close(got, expected, rtol=0, atol=5e-4)
    # the tags of both passes, the mirrored ones shifted alike
    assert result.pred_fields.tags.shape == (2 * K, 64, 64)
    torch.testing.assert_close(
        torch.as_tensor(result.pred_fields.tags[:K]),
        tags[0],
        rtol=0,
        atol=5e-4,
    )


@pytest.mark.parametrize('refine', [True, False])
def test_multiscale_flip_and_refine_predict_in_the_image(tiny, refine):
    _, folder = tiny
    model = _model(folder, tta='multiscale', scales=[1, 0.5], refine=refine)
    assert model.head.decoder.refine is refine
    model.test_cfg['output_heatmaps'] = True
    images = unpadded_images()[:2]
    results = inference_bottomup(model, images)
    for result in results:
        people = result.pred_instances
        assert len(people) == 3
        # refine fills every keypoint (random maps: some at negative
        # values); without it a missing keypoint has score 0
        found = people.keypoint_scores != 0
        assert found.all() if refine else not found.all()
        assert np.isfinite(people.keypoints).all()
        # 2 scales x 2 flips of K tag maps, at the heatmaps' size
        heatmaps, tags = result.pred_fields.heatmaps, result.pred_fields.tags
        assert tags.shape == (4 * K, *heatmaps.shape[1:])


def test_batches_of_one_shape_predict_as_batch_1(tiny):
    _, folder = tiny
    model = _model(folder, tta='multiscale', scales=[1, 0.5])
    with torch.backends.mkldnn.flags(enabled=False):
        expected = inference_bottomup(model, MIXED, batch_size=1)
        results = inference_bottomup(model, MIXED, batch_size=2)
    assert len(results) == len(expected) == len(MIXED)
    for a, b in zip(results, expected):
        a, b = a.pred_instances, b.pred_instances
        for field in ('keypoints', 'keypoint_scores', 'keypoint_tags'):
            np.testing.assert_array_equal(a.get(field), b.get(field), field)


def test_onnx_graph_holds_the_aggregation_and_predicts_as_torch(tiny):
    model, folder = tiny
    path = export_tiny(model, folder, flip=True)
    image = unpadded_images()[0]
    inputs = torch.randn(1, 3, 128, 192)
    with torch.no_grad():
        expected = ExportedNetwork(model, flip=True)(inputs)
    got = onnxruntime.InferenceSession(str(path)).run(
        None, {'inputs': inputs.numpy()}
    )
    for want, have in zip(expected, got):
        # the graph returns the aggregated maps at 1/2 of the input
        assert have.shape == (2, K, 64, 96)
        scale = float(np.abs(want.numpy()).max())
        np.testing.assert_allclose(
            have, want.numpy(), rtol=0, atol=1e-5 * max(scale, 1.0)
        )
    _assert_same_people(
        inference_bottomup(model, [image] * 2),
        inference_bottomup(init_onnx_model(path), [image] * 2, batch_size=2),
    )
