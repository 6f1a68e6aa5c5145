import json

import cv2
import numpy as np
import onnx
import pytest
import torch
from test_apis.onnx_models import distinct_tiny_model, unpadded_images
from test_apis.tiny_model import write_tiny_config

from demo import image_demo
from tools.deployment import export_onnx


@pytest.fixture
def checkpoint(tmp_path):
    config = write_tiny_config(tmp_path)
    model = distinct_tiny_model(config)
    path = tmp_path / 'tiny.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    return config, path


def test_exports_a_checkpoint_that_the_image_demo_runs(
    checkpoint, tmp_path, capsys
):
    config, weights = checkpoint
    out = tmp_path / 'tiny.onnx'
    export_onnx.main(
        [str(config), str(weights), str(out), '--flip', '--dynamic']
    )
    assert f'{out}: flip=True, input size dynamic' in capsys.readouterr().out
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta['aeplugin.flip_in_graph']) is True

    image = tmp_path / 'people.png'
    cv2.imwrite(str(image), unpadded_images()[3])
    drawn = {}
    for model_file in (weights, out):
        out_file = tmp_path / f'{model_file.suffix[1:]}.png'
        image_demo.main(
            [str(image), str(config), str(model_file)]
            + ['--out-file', str(out_file), '--device', 'cpu']
        )
        assert f'3 people -> {out_file}' in capsys.readouterr().out
        drawn[model_file.suffix] = cv2.imread(str(out_file)).astype(int)
    # the same skeletons, pixel for pixel (PNG is lossless)
    assert np.abs(drawn['.onnx'] - drawn['.pth']).max() == 0


def test_input_size_and_dynamic_exclude_each_other():
    with pytest.raises(SystemExit):
        export_onnx.parse_args(
            ['c.py', 'c.pth', 'o.onnx', '--input-size', '192', '128']
            + ['--dynamic']
        )
    args = export_onnx.parse_args(
        ['c.py', 'c.pth', 'o.onnx', '--input-size', '192', '128']
    )
    assert args.input_size == [192, 128] and not args.flip
