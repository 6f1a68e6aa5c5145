import numpy as np
import onnx
import pytest
import torch
from mmengine.config import Config

from aeplugin.apis import (
    apply_test_time_options,
    fit_test_input,
    inference_bottomup,
    init_onnx_model,
)

from .onnx_models import distinct_tiny_model, export_tiny, unpadded_images
from .tiny_model import ROOT, write_tiny_config


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp('onnx_inference')
    return distinct_tiny_model(write_tiny_config(folder)), folder


def _assert_same_people(expected, got):
    """Same people, keypoints and scores; a keypoint may sit elsewhere only
    where two pixels of the heatmap tie within the maps' float difference
    (upsampled maps have flat tops), its score then equal within 1e-4."""
    assert len(expected) == len(got)
    moved = 0
    for want, have in zip(expected, got):
        want, have = want.pred_instances, have.pred_instances
        assert len(want) == len(have) == 3  # decode_max_instances
        for field in ('keypoint_scores', 'bbox_scores'):
            np.testing.assert_allclose(
                have[field], want[field], rtol=0, atol=1e-4
            )
        same = np.abs(have.keypoints - want.keypoints).max(axis=-1) < 1e-3
        moved += int((~same).sum())
        np.testing.assert_allclose(
            have.keypoint_tags[same], want.keypoint_tags[same], atol=1e-4
        )
    assert moved <= 2, f'{moved} keypoints moved'


@pytest.mark.parametrize(
    'flip_in_graph, input_size, dynamo',
    [
        (True, None, False),
        (False, None, False),
        (True, (192, 128), False),
        (True, None, True),
    ],
    ids=['flip-in-graph', 'flip-run-twice', 'fixed-size', 'torch-export'],
)
def test_same_people_as_torch_on_real_images(
    tiny, flip_in_graph, input_size, dynamo, monkeypatch
):
    model, folder = tiny
    path = export_tiny(
        model, folder, flip=flip_in_graph, input_size=input_size, dynamo=dynamo
    )
    onnx_model = init_onnx_model(path)
    assert onnx_model.test_cfg['flip_test'] is True
    if input_size is not None:
        # the 3:2 images fit 192x128 whole: the same input as 'expand'
        fitted = fit_test_input(Config(model.cfg.to_dict()), input_size)
        monkeypatch.setattr(model, 'cfg', fitted)
    images = unpadded_images()
    _assert_same_people(
        inference_bottomup(model, images),
        inference_bottomup(onnx_model, images, batch_size=2),
    )


def test_a_given_config_sets_the_test_time_options(tiny):
    model, folder = tiny
    path = export_tiny(model, folder, flip=True)
    cfg = apply_test_time_options(
        Config(model.cfg.to_dict()), tta='none', refine=False
    )
    onnx_model = init_onnx_model(path, cfg)
    assert onnx_model.test_cfg['flip_test'] is False
    assert onnx_model.head.decoder.refine is False
    image = unpadded_images()[2]
    got = inference_bottomup(onnx_model, image)
    model.test_cfg['flip_test'] = False
    model.head.decoder.refine = False
    try:
        want = inference_bottomup(model, image)
    finally:
        model.test_cfg['flip_test'] = True
        model.head.decoder.refine = True
    _assert_same_people([want], [got])
    # without refine, undetected keypoints score 0
    assert (got.pred_instances.keypoint_scores == 0).any()


def test_multiscale_needs_a_dynamic_graph(tiny):
    model, folder = tiny
    path = export_tiny(model, folder, input_size=(192, 128))
    cfg = apply_test_time_options(
        Config(model.cfg.to_dict()), tta='multiscale', scales=[1.0, 0.5]
    )
    with pytest.raises(ValueError, match='export with --dynamic'):
        init_onnx_model(path, cfg)


def test_multiscale_runs_on_a_dynamic_graph(tiny):
    model, folder = tiny
    path = export_tiny(model, folder, flip=True)
    cfg = apply_test_time_options(
        Config(model.cfg.to_dict()), tta='multiscale', scales=[1.0, 0.5]
    )
    onnx_model = init_onnx_model(path, cfg)
    result = inference_bottomup(onnx_model, unpadded_images()[0])
    # two scales x two flips of 1-D tags
    assert result.pred_instances.keypoint_tags.shape == (3, 17, 4)


def test_a_config_of_another_dataset_is_refused(tiny):
    model, folder = tiny
    path = export_tiny(model, folder, flip=True)
    crowdpose = (
        ROOT / 'configs/ae_hourglass-4stack_8xb6-300e_crowdpose-512x512.py'
    )
    with pytest.raises(
        ValueError, match='predicts 17 keypoints, the config 14'
    ):
        init_onnx_model(path, crowdpose)


def test_a_file_without_our_metadata_is_refused(tmp_path):
    torch.onnx.export(
        torch.nn.Conv2d(3, 2, 1),
        (torch.zeros(1, 3, 8, 8),),
        str(tmp_path / 'conv.onnx'),
        dynamo=False,
    )
    onnx.checker.check_model(str(tmp_path / 'conv.onnx'))
    with pytest.raises(ValueError, match='conv.onnx lacks the metadata'):
        init_onnx_model(tmp_path / 'conv.onnx')
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        init_onnx_model(tmp_path / 'missing.onnx')
