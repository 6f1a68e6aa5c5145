"""tools/test.py names a checkpoint file it cannot load before it builds
anything, and refuses a checkpoint or a test dataset of another keypoint
set before it evaluates."""

import re

import pytest
import torch
from test_apis.tiny_model import (
    ROOT,
    random_tiny_model,
    save_random_checkpoint,
    write_tiny_config,
)

from tools import test as test_tool

CROWDPOSE = ROOT / 'tests' / 'data' / 'crowdpose'
# the tiny COCO model tested on CrowdPose's images and 14 keypoints
CROWDPOSE_TEST_DATA = f"""
test_dataloader = dict(
    dataset=dict(
        type='CrowdPoseDataset',
        data_root='{CROWDPOSE}/',
        ann_file='test_crowdpose.json',
        data_prefix=dict(img=''),
    )
)
"""


@pytest.mark.parametrize(
    'kind, problem', [('missing', 'does not exist'), ('empty', 'is empty')]
)
def test_a_bad_checkpoint_file_is_named_first(tmp_path, kind, problem):
    checkpoint = tmp_path / 'epoch_1.pth'
    if kind == 'empty':
        checkpoint.write_bytes(b'')
    # the config is never read
    with pytest.raises(ValueError, match=f'checkpoint {checkpoint} {problem}'):
        test_tool.main(['missing_config.py', str(checkpoint)])


@pytest.mark.slow
def test_a_test_dataset_of_another_keypoint_set_is_refused(tmp_path):
    config = write_tiny_config(tmp_path)
    config.write_text(config.read_text() + CROWDPOSE_TEST_DATA)
    checkpoint = save_random_checkpoint(config, tmp_path / 'tiny.pth')
    with pytest.raises(
        ValueError,
        match=rf"^{re.escape(str(config))}: the dataset 'crowdpose' has 14 "
        'keypoints but the model head predicts 17',
    ):
        test_tool.main(
            [str(config), str(checkpoint), '--work-dir', str(tmp_path)]
        )


@pytest.mark.slow
def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    config = write_tiny_config(tmp_path)
    # the tiny model with 32 features instead of 16
    other = random_tiny_model(
        str(config), cfg_options={'model.backbone.feat_channels': 32}
    )
    checkpoint = tmp_path / 'other.pth'
    torch.save(dict(state_dict=other.state_dict()), checkpoint)
    with pytest.raises(ValueError) as error:
        test_tool.main(
            [str(config), str(checkpoint), '--work-dir', str(tmp_path)]
        )
    message = str(error.value)
    assert message.startswith(f'{checkpoint} does not match the model')
    assert 'weights of another shape' in message
