"""The demos name a bad image or video before they load the model (the
config path given does not exist), and draw grayscale and 4-channel
images."""

import re

import cv2
import numpy as np
import pytest
from test_apis.tiny_model import (
    IMAGES,
    save_random_checkpoint,
    write_tiny_config,
)

from demo import image_demo, video_demo

# never read: the errors come before the model loads
NO_MODEL = ['missing_config.py', 'missing.pth']


def _frames_video(path, frames):
    h, w = frames[0].shape[:2] if frames else (64, 64)
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, (w, h)
    )
    for frame in frames:
        writer.write(frame)
    writer.release()


@pytest.mark.parametrize(
    'kind, error, problem',
    [
        ('missing', FileNotFoundError, 'does not exist'),
        ('truncated', ValueError, 'is a truncated JPEG'),
        ('text', ValueError, 'is not an image file OpenCV can read'),
    ],
)
def test_image_demo_names_a_bad_image_first(tmp_path, kind, error, problem):
    path = tmp_path / f'{kind}.jpg'
    if kind == 'truncated':
        path.write_bytes(open(IMAGES[0], 'rb').read()[:5000])
    elif kind == 'text':
        path.write_text('not an image')
    with pytest.raises(error, match=f'{re.escape(str(path))} {problem}'):
        image_demo.main(
            [IMAGES[0], str(path), *NO_MODEL, '--out-dir', str(tmp_path)]
        )


@pytest.mark.slow
def test_image_demo_draws_grayscale_and_rgba_images(tmp_path, capsys):
    config = write_tiny_config(tmp_path)
    checkpoint = save_random_checkpoint(config, tmp_path / 'tiny.pth')
    image = cv2.imread(IMAGES[2])
    gray, rgba = tmp_path / 'gray.png', tmp_path / 'rgba.png'
    cv2.imwrite(str(gray), cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(rgba), cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))
    out_dir = tmp_path / 'vis'
    image_demo.main(
        [str(gray), str(rgba), str(config), str(checkpoint)]
        + ['--out-dir', str(out_dir), '--device', 'cpu', '--kpt-thr', '0']
    )
    stdout = capsys.readouterr().out
    for path in (gray, rgba):
        out = out_dir / path.name
        # the tiny config keeps at most 3 people
        assert f'3 people -> {out}' in stdout
        drawn = cv2.imread(str(out))
        assert drawn.shape == image.shape
        # skeletons were drawn (a PNG written without loss: any change)
        changed = np.abs(drawn.astype(int) - cv2.imread(str(path))) > 60
        assert changed.any(axis=-1).sum() > 100


@pytest.mark.parametrize(
    'kind, error, problem',
    [
        ('missing', FileNotFoundError, 'video file {} does not exist'),
        ('directory', ValueError, '{} is a directory, not a video file'),
        ('empty', ValueError, r'video file {} is empty \(0 bytes\)'),
        ('text', ValueError, 'cannot open video {}: not a video'),
        ('no_frames', ValueError, 'video {} has no frames'),
    ],
)
def test_video_demo_names_a_bad_video_first(tmp_path, kind, error, problem):
    path = tmp_path / f'{kind}.avi'
    if kind == 'directory':
        path.mkdir()
    elif kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'text':
        path.write_text('not a video')
    elif kind == 'no_frames':
        # a complete AVI file that OpenCV opens, holding no frame
        _frames_video(path, [])
        assert cv2.VideoCapture(str(path)).isOpened()
    out = tmp_path / 'out.mp4'
    with pytest.raises(error, match=problem.format(re.escape(str(path)))):
        video_demo.main([str(path), *NO_MODEL, '--out-file', str(out)])
    assert not out.exists()


@pytest.mark.slow
def test_video_demo_names_an_output_it_cannot_write(tmp_path):
    config = write_tiny_config(tmp_path)
    checkpoint = save_random_checkpoint(config, tmp_path / 'tiny.pth')
    video = tmp_path / 'in.avi'
    _frames_video(video, [cv2.resize(cv2.imread(IMAGES[0]), (128, 96))])
    out = tmp_path / 'no_such_folder' / 'out.mp4'
    with pytest.raises(ValueError, match=f'cannot write video {out}'):
        video_demo.main(
            [str(video), str(config), str(checkpoint), '--out-file', str(out)]
        )
