"""tools/test.py evaluates the paper's 4-stack config with weights converted
from mmpose's HourglassAENet layout, on real COCO images."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpose.models import HourglassAENet

import aeplugin  # noqa: F401  (lets torch.load read runner checkpoints)
from aeplugin.registry import DATASETS, MODELS

ROOT = Path(__file__).parents[2]
CONFIG = 'configs/ae_hourglass-4stack_8xb6-300e_coco-512x512.py'
DATA = ROOT / 'tests' / 'data' / 'coco'
NUM_IMAGES = 1
DATA_OPTIONS = [
    f'test_dataloader.dataset.data_root={DATA}/',
    'test_dataloader.dataset.ann_file=test_coco.json',
    'test_dataloader.dataset.data_prefix.img=',
    f'test_dataloader.dataset.indices={NUM_IMAGES}',
    # the paper's network at a quarter of the pixels and without the flip
    # pass keeps the test short on a CPU
    'test_dataloader.dataset.pipeline.1.input_size=(256,256)',
    'model.test_cfg.flip_test=False',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    f'test_evaluator.ann_file={DATA}/test_coco.json',
]


def _mmpose_checkpoint(path):
    """A paper-size HourglassAENet in mmpose's checkpoint layout. PyTorch's
    default init instead of mmpose's std=0.001 gives maps with peaks, so
    there are people to decode."""
    torch.manual_seed(0)
    net = HourglassAENet(
        downsample_times=4,
        num_stacks=4,
        stage_channels=(256, 384, 512, 640, 768),
        feat_channels=256,
    )
    net.eval()
    state_dict = {f'backbone.{k}': v for k, v in net.state_dict().items()}
    torch.save(dict(state_dict=state_dict, meta=dict(epoch=300)), path)
    return net


def _first_test_input():
    cfg = Config.fromfile(str(ROOT / CONFIG))
    cfg.merge_from_dict(
        {
            'test_dataloader.dataset.data_root': f'{DATA}/',
            'test_dataloader.dataset.ann_file': 'test_coco.json',
            'test_dataloader.dataset.data_prefix.img': '',
            'test_dataloader.dataset.indices': NUM_IMAGES,
            'test_dataloader.dataset.pipeline.1.input_size': (256, 256),
        }
    )
    with DefaultScope.overwrite_default_scope('aeplugin'):
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
    return cfg, dataset[0]


@pytest.mark.slow
def test_converted_mmpose_weights_evaluate_on_real_images(tmp_path):
    mmpose_net = _mmpose_checkpoint(tmp_path / 'mmpose.pth')
    subprocess.run(
        [
            sys.executable,
            'tools/model_converters/convert_mmpose_hourglass.py',
            str(tmp_path / 'mmpose.pth'),
            str(tmp_path / 'converted.pth'),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )

    # the converted model sees a real test image as mmpose's network does
    cfg, packed = _first_test_input()
    with DefaultScope.overwrite_default_scope('aeplugin'):
        model = MODELS.build(cfg.model).eval()
    checkpoint = torch.load(tmp_path / 'converted.pth', weights_only=True)
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    with torch.no_grad():
        inputs = model.data_preprocessor(
            dict(inputs=[packed['inputs']], data_samples=[]), False
        )['inputs']
        ours = model.extract_feat(inputs)
        theirs = mmpose_net(inputs)
    assert min(inputs.shape[-2:]) == 256
    for stack, (a, b) in enumerate(zip(ours, theirs)):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4, msg=stack)

    prefix = tmp_path / 'results'
    result = subprocess.run(
        [
            sys.executable,
            'tools/test.py',
            CONFIG,
            str(tmp_path / 'converted.pth'),
            '--work-dir',
            str(tmp_path / 'work'),
            '--cfg-options',
            *DATA_OPTIONS,
            f'test_evaluator.outfile_prefix={prefix}',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:]
    )
    assert 'coco/AP:' in result.stdout + result.stderr
    people = json.loads(Path(f'{prefix}.keypoints.json').read_text())
    image_ids = {person['image_id'] for person in people}
    assert len(image_ids) == NUM_IMAGES, image_ids
    assert all(len(person['keypoints']) == 17 * 3 for person in people)
