"""A metainfo file that contradicts itself stops the dataset when it loads,
with the file and the field in the message."""

import re
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

from aeplugin.datasets import CocoDataset

ROOT = Path(__file__).parents[2]
FACE_META = ROOT / 'configs' / '_base_' / 'datasets' / 'coco_face.py'
FACE_ANN = 'data/coco-mini-face/annotations/face_keypoints_train2017.json'


def _dataset(metainfo):
    return CocoDataset(
        ann_file=str(ROOT / FACE_ANN),
        data_mode='bottomup',
        metainfo=metainfo,
        pipeline=[],
        test_mode=True,
        lazy_init=True,
    )


def test_face_metainfo_parses():
    meta = _dataset(dict(from_file=str(FACE_META))).metainfo
    assert meta['num_keypoints'] == 5
    assert meta['flip_indices'] == [0, 2, 1, 4, 3]
    np.testing.assert_array_equal(
        meta['sigmas'],
        np.float32([0.026, 0.025, 0.025, 0.035, 0.035]),
    )
    assert meta['skeleton_links'] == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 4)]


def _face_info():
    return Config.fromfile(FACE_META).dataset_info.to_dict()


def _sigmas(info):
    info['sigmas'] = info['sigmas'][:4]


def _weights(info):
    info['joint_weights'] = [1.0] * 17


def _swap_outside(info):
    info['keypoint_info'][3]['swap'] = 'left_shoulder'


def _one_way_swap(info):
    info['keypoint_info'][2]['swap'] = ''


def _swap_to_another(info):
    info['keypoint_info'][2]['swap'] = 'left_ear'


def _link(info):
    info['skeleton_info'][4]['link'] = ('right_eye', 'right_shoulder')


def _ids(info):
    info['keypoint_info'] = {
        k + 1: v for k, v in info['keypoint_info'].items()
    }


def _no_sigmas(info):
    del info['sigmas']


@pytest.mark.parametrize(
    'change, message',
    [
        (_sigmas, 'sigmas has 4 values for 5 keypoints'),
        (_weights, 'joint_weights has 17 values for 5 keypoints'),
        (_swap_outside, "swaps with 'left_shoulder', which is not a keypoint"),
        (_one_way_swap, 'flip pairs (keypoint_info swap) must pair'),
        (_swap_to_another, 'flip pairs (keypoint_info swap) must pair'),
        (_link, "skeleton_info[4] links ['right_shoulder']"),
        (_ids, 'keypoint_info ids must be 0..4'),
        (_no_sigmas, "no ['sigmas']"),
    ],
)
def test_contradictions_name_the_file_and_the_field(change, message, tmp_path):
    info = _face_info()
    change(info)
    path = tmp_path / 'bad_face.py'
    path.write_text(f'dataset_info = {info!r}\n')
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        _dataset(dict(from_file=str(path)))
    assert str(path) in str(error.value)
    # the same as a dict in the config
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        _dataset(info)
    assert 'the metainfo dict given to the dataset' in str(error.value)
