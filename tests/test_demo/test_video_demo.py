import cv2
import numpy as np
import pytest
import torch
from test_apis.tiny_model import (
    IMAGES,
    save_random_checkpoint,
    write_tiny_config,
)

from demo import video_demo

SIZE = (320, 212)  # w, h


def _write_video(path, frames):
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'mp4v'), 10, SIZE
    )
    for frame in frames:
        writer.write(frame)
    writer.release()


def _read_video(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return frames, fps


def _run_demo(tmp_path, frames, *options):
    """Write ``frames`` to a video and run the demo on it with a random tiny
    model; the output video's path."""
    config = write_tiny_config(tmp_path)
    checkpoint = save_random_checkpoint(config, tmp_path / 'tiny.pth')
    video = tmp_path / 'in.mp4'
    _write_video(video, frames)
    out = tmp_path / 'out.mp4'
    video_demo.main(
        [str(video), str(config), str(checkpoint), '--out-file', str(out)]
        + list(options)
    )
    return out


@pytest.mark.slow
def test_writes_every_frame_with_skeletons(tmp_path, capsys):
    frames = [cv2.resize(cv2.imread(p), SIZE) for p in IMAGES[:3]]
    out = _run_demo(tmp_path, frames, '--device', 'cpu', '--kpt-thr', '0')
    stdout = capsys.readouterr().out
    assert f'3 frames -> {out}' in stdout
    # mmengine's progress bar reached the end
    assert '3/3' in stdout

    inputs, _ = _read_video(tmp_path / 'in.mp4')
    outputs, fps = _read_video(out)
    assert len(outputs) == 3 and fps == 10
    for frame, drawn in zip(inputs, outputs):
        assert drawn.shape == frame.shape
        changed = np.abs(drawn.astype(int) - frame).max(axis=-1) > 60
        assert changed.mean() > 0.001


@pytest.mark.slow
def test_max_frames_stops_early(tmp_path, capsys):
    frames = [cv2.resize(cv2.imread(IMAGES[0]), SIZE)] * 3
    out = _run_demo(
        tmp_path, frames, '--max-frames', '2', '--fps', '5', '--tta', 'none'
    )
    assert f'2 frames -> {out}' in capsys.readouterr().out
    outputs, fps = _read_video(out)
    assert len(outputs) == 2 and fps == 5


@pytest.mark.slow
def test_frames_in_batches_draw_as_one_by_one(tmp_path, capsys):
    """3 frames at --batch-size 2 (2 + 1) and 1: the same video (oneDNN
    off: its rounding depends on the batch size)."""
    frames = [cv2.resize(cv2.imread(p), SIZE) for p in IMAGES[:3]]
    videos = []
    for batch_size in ('1', '2'):
        folder = tmp_path / batch_size
        folder.mkdir()
        with torch.backends.mkldnn.flags(enabled=False):
            out = _run_demo(folder, frames, '--batch-size', batch_size)
        assert f'3 frames -> {out}' in capsys.readouterr().out
        videos.append(_read_video(out)[0])
    assert len(videos[0]) == 3
    for a, b in zip(*videos):
        np.testing.assert_array_equal(a, b)
