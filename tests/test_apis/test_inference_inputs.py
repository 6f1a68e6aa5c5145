"""Bad inputs of init_model and inference_bottomup get an error naming
them; grayscale, 4-channel, 1x1 and very large images are predicted."""

import re

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from aeplugin.apis import inference_bottomup, init_model
from aeplugin.apis.image_inputs import load_image

from .tiny_model import IMAGES, K, random_tiny_model, write_tiny_config

# a COCO image with the tiny model's 3 people
IMAGE = IMAGES[2]
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
PNG_END = b'\x00\x00\x00\x00IEND\xaeB`\x82'


@pytest.fixture(scope='module')
def config_file(tmp_path_factory):
    return write_tiny_config(tmp_path_factory.mktemp('config'))


@pytest.fixture(scope='module')
def model(config_file):
    return random_tiny_model(str(config_file))


@pytest.fixture()
def model_steps(model, monkeypatch):
    """The input shapes of each batch the model runs."""
    steps, test_step = [], model.test_step

    def recording_test_step(data):
        steps.append([tuple(x.shape) for x in data['inputs']])
        return test_step(data)

    monkeypatch.setattr(model, 'test_step', recording_test_step)
    return steps


def _bad_file(tmp_path, kind):
    jpeg = open(IMAGE, 'rb').read()
    path = tmp_path / f'{kind}.jpg'
    if kind == 'directory':
        path.mkdir()
    elif kind == 'text':
        path.write_text('name,x,y\nnose,1,2\n')
    elif kind == 'truncated_jpeg':
        path.write_bytes(jpeg[: len(jpeg) // 2])
    elif kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'truncated_png':
        png = cv2.imencode('.png', cv2.imread(IMAGE))[1].tobytes()
        path = tmp_path / 'truncated.png'
        path.write_bytes(png[: len(png) // 2])
    return path


@pytest.mark.parametrize(
    'kind, error, problem',
    [
        ('missing', FileNotFoundError, 'does not exist'),
        ('directory', ValueError, 'is a directory, not an image file'),
        ('text', ValueError, "not an image file OpenCV can read .*b'name"),
        ('truncated_jpeg', ValueError, 'is a truncated JPEG'),
        ('empty', ValueError, r'is empty \(0 bytes\)'),
        ('truncated_png', ValueError, 'is a truncated PNG'),
    ],
)
def test_bad_image_files_are_named_before_the_model_runs(
    model, model_steps, tmp_path, kind, error, problem
):
    path = _bad_file(tmp_path, kind)
    # last in the list: the good images before it never reach the model
    with pytest.raises(error, match=f'{re.escape(str(path))}.* {problem}'):
        inference_bottomup(model, [IMAGE, IMAGE, path], batch_size=1)
    assert model_steps == []


def test_a_corrupt_image_of_a_known_format_is_named(model, tmp_path):
    # a PNG signature and end chunk around no image data: it passes the
    # checks of the file's first and last bytes, and fails to decode
    path = tmp_path / 'corrupt.png'
    path.write_bytes(PNG_SIGNATURE + bytes(range(256)) * 4 + PNG_END)
    with pytest.raises(ValueError, match=f'{re.escape(str(path))} cannot be'):
        inference_bottomup(model, path)


@pytest.mark.parametrize(
    'array, problem',
    [
        (np.zeros((8, 8, 2), np.uint8), r'must be an image .* \(8, 8, 2\)'),
        (np.zeros((8, 8, 3, 1), np.uint8), r'must be an image'),
        (np.zeros((0, 8, 3), np.uint8), r'has no pixels: shape \(0, 8, 3\)'),
    ],
)
def test_bad_arrays_are_named_by_index(model, model_steps, array, problem):
    with pytest.raises(ValueError, match=rf'^images\[1\] {problem}'):
        inference_bottomup(model, [cv2.imread(IMAGE), array])
    assert model_steps == []


def _assert_same_people(result, expected):
    people = result.pred_instances
    assert len(people) > 0
    np.testing.assert_allclose(
        people.keypoints, expected.pred_instances.keypoints, atol=1e-4
    )
    np.testing.assert_allclose(
        people.keypoint_scores,
        expected.pred_instances.keypoint_scores,
        atol=1e-4,
    )


def test_grayscale_images_are_predicted_as_their_bgr_conversion(
    model, tmp_path
):
    gray = cv2.cvtColor(cv2.imread(IMAGE), cv2.COLOR_BGR2GRAY)
    path = tmp_path / 'gray.png'
    cv2.imwrite(str(path), gray)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape == gray.shape
    expected = inference_bottomup(
        model, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    )
    results = inference_bottomup(model, [path, gray, gray[..., None]])
    for result in results:
        _assert_same_people(result, expected)
    assert results[0].metainfo['img_path'] == str(path)
    # the gray input changes the prediction: the comparison above sees it
    colour = inference_bottomup(model, IMAGE).pred_instances.keypoints
    assert not np.allclose(colour, expected.pred_instances.keypoints)


def test_bgra_images_are_predicted_without_their_alpha(model, tmp_path):
    image = cv2.imread(IMAGE)
    h, w = image.shape[:2]
    bgra = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    # an alpha of its own (a ramp): used as a colour it would change the
    # prediction
    bgra[..., 3] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    path = tmp_path / 'rgba.png'
    cv2.imwrite(str(path), bgra)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape == (h, w, 4)
    expected = inference_bottomup(
        model, cv2.cvtColor(bgra, cv2.COLOR_BGRA2BGR)
    )
    for result in inference_bottomup(model, [path, bgra]):
        _assert_same_people(result, expected)
    np.testing.assert_array_equal(load_image(bgra), image)


def test_a_one_pixel_image_is_predicted(model, model_steps, tmp_path):
    path = tmp_path / 'pixel.png'
    cv2.imwrite(str(path), np.full((1, 1, 3), 128, np.uint8))
    result = inference_bottomup(model, path)
    assert result.metainfo['ori_shape'] == (1, 1)
    # resized to the network's input size (128 x 128 in the tiny config)
    assert model_steps == [[(3, 128, 128)]]
    assert np.isfinite(result.pred_instances.keypoints).all()


def test_a_very_large_image_is_downscaled_before_the_network(
    model, model_steps, tmp_path
):
    image = cv2.resize(cv2.imread(IMAGE), (8000, 6000))
    path = tmp_path / 'large.jpg'
    cv2.imwrite(str(path), image)
    result = inference_bottomup(model, path)
    assert result.metainfo['ori_shape'] == (6000, 8000)
    # the short side at the input size 128, the long side padded to a
    # multiple of 64: a 0.02 Mpixel input for the 48 Mpixel image
    assert model_steps == [[(3, 128, 192)]]
    keypoints = result.pred_instances.keypoints
    assert len(keypoints) > 0 and keypoints.shape[1:] == (K, 2)
    # in original pixels: beyond the network input's 192 x 128
    assert keypoints[..., 0].max() > 192


def _crowdpose_options():
    """The tiny model with CrowdPose's 14 keypoints."""
    return {
        'model.backbone.out_channels': 28,
        'model.head.in_channels': 28,
        'model.head.num_keypoints': 14,
        'model.head.decoder.decode_keypoint_order': list(range(14)),
        'train_dataloader.dataset.type': 'CrowdPoseDataset',
    }


def test_a_checkpoint_loads_its_weights_and_dataset_meta(
    config_file, model, tmp_path
):
    path = tmp_path / 'tiny.pth'
    meta = dict(model.dataset_meta, dataset_name='from_checkpoint')
    torch.save(
        dict(state_dict=model.state_dict(), meta=dict(dataset_meta=meta)),
        path,
    )
    loaded = init_model(str(config_file), str(path), device='cpu')
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)
    assert loaded.dataset_meta['dataset_name'] == 'from_checkpoint'


def test_a_checkpoint_of_another_dataset_is_refused(config_file, tmp_path):
    crowdpose = init_model(
        str(config_file), device='cpu', cfg_options=_crowdpose_options()
    )
    assert crowdpose.head.num_keypoints == 14
    path = tmp_path / 'crowdpose.pth'
    torch.save(dict(state_dict=crowdpose.state_dict()), path)
    with pytest.raises(ValueError) as error:
        init_model(str(config_file), str(path), device='cpu')
    message = str(error.value)
    assert message.startswith(f'{path} does not match the model')
    assert '2 weights of another shape' in message
    assert 'checkpoint (28, 16, 1, 1) vs model (34, 16, 1, 1)' in message


def test_a_checkpoint_with_another_keypoint_set_is_refused(
    config_file, model, tmp_path
):
    # the weights fit, the checkpoint's dataset_meta (used by the model)
    # has another number of keypoints
    crowdpose_meta = init_model(
        str(config_file), device='cpu', cfg_options=_crowdpose_options()
    ).dataset_meta
    path = tmp_path / 'tiny_crowdpose_meta.pth'
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(dataset_meta=crowdpose_meta),
        ),
        path,
    )
    with pytest.raises(
        ValueError,
        match=rf"^{re.escape(str(path))}: the dataset 'crowdpose' has 14 "
        'keypoints but the model head predicts 17',
    ):
        init_model(str(config_file), str(path), device='cpu')


def test_a_config_of_another_dataset_is_refused(config_file):
    cfg = Config.fromfile(config_file)
    cfg.train_dataloader.dataset.type = 'CrowdPoseDataset'
    with pytest.raises(
        ValueError,
        match=rf"^{re.escape(str(config_file))}: the dataset 'crowdpose' "
        'has 14 keypoints but the model head predicts 17',
    ):
        init_model(cfg, device='cpu')


@pytest.mark.parametrize(
    'kind, problem',
    [('missing', 'does not exist'), ('truncated', 'is truncated')],
)
def test_bad_checkpoint_files_are_named(
    config_file, model, tmp_path, kind, problem
):
    path = tmp_path / 'epoch_1.pth'
    if kind == 'truncated':
        torch.save(dict(state_dict=model.state_dict()), path)
        path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match=f'checkpoint {path} {problem}'):
        init_model(str(config_file), str(path), device='cpu')
