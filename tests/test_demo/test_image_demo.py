import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from test_apis.tiny_model import (
    IMAGES,
    ROOT,
    save_random_checkpoint,
    write_tiny_config,
)

from demo import image_demo

PORTRAIT = str(ROOT / 'data/coco-mini/train2017/000000069468.jpg')


@pytest.mark.slow
def test_draws_people_and_plots_their_tags(tmp_path):
    config = write_tiny_config(tmp_path)
    checkpoint = save_random_checkpoint(config, tmp_path / 'tiny.pth')
    out = tmp_path / 'vis' / 'people.jpg'
    result = subprocess.run(
        [
            sys.executable,
            'demo/image_demo.py',
            IMAGES[2],
            str(config),
            str(checkpoint),
            '--out-file',
            str(out),
            '--show-tags',
            '--device',
            'cpu',
            '--tta',
            'multiscale',
            '--scales',
            '1',
            '0.5',
            '--kpt-thr',
            '0',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # the tiny config keeps at most 3 people
    assert f'3 people -> {out}' in result.stdout

    image = cv2.imread(IMAGES[2])
    drawn = cv2.imread(str(out))
    assert drawn.shape == image.shape
    # skeletons were drawn (JPEG noise alone changes pixels by a few levels)
    changed = np.abs(drawn.astype(int) - image).max(axis=-1) > 60
    assert changed.mean() > 0.001

    tags = tmp_path / 'vis' / 'people_tags.png'
    assert f'tags -> {tags}' in result.stdout
    plot = cv2.imread(str(tags))
    assert plot is not None and plot.shape == (400, 600, 3)


@pytest.mark.slow
def test_several_images_in_batches_draw_as_one_by_one(tmp_path, capsys):
    """--out-dir with several images of two input shapes, at --batch-size
    2 and 1: the same drawings (oneDNN off: its rounding depends on the
    batch size)."""
    config = write_tiny_config(tmp_path)
    checkpoint = save_random_checkpoint(config, tmp_path / 'tiny.pth')
    images = [IMAGES[0], PORTRAIT, IMAGES[1]]
    written = {}
    for batch_size in ('1', '2'):
        out_dir = tmp_path / f'batch{batch_size}'
        with torch.backends.mkldnn.flags(enabled=False):
            image_demo.main(
                [
                    *images,
                    str(config),
                    str(checkpoint),
                    '--out-dir',
                    str(out_dir),
                    '--batch-size',
                    batch_size,
                    '--kpt-thr',
                    '0',
                ]
            )
        stdout = capsys.readouterr().out
        for image in images:
            assert f'people -> {out_dir / Path(image).name}' in stdout
        written[batch_size] = [
            (out_dir / Path(image).name).read_bytes() for image in images
        ]
    assert written['1'] == written['2']


def test_out_file_takes_one_image():
    with pytest.raises(SystemExit):
        image_demo.parse_args(
            [IMAGES[0], IMAGES[1], 'c.py', 'c.pth', '--out-file', 'o.jpg']
        )
    args = image_demo.parse_args(
        [IMAGES[0], IMAGES[1], 'c.py', 'c.pth', '--out-dir', 'o']
    )
    assert args.images == IMAGES[:2] and args.config == 'c.py'
    assert args.batch_size == 1
