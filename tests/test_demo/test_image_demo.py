import subprocess
import sys

import cv2
import numpy as np
import pytest
from test_apis.tiny_model import (
    IMAGES,
    ROOT,
    save_random_checkpoint,
    write_tiny_config,
)


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
