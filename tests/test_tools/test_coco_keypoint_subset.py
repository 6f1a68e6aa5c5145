"""tools/dataset_converters/coco_keypoint_subset.py: hand-made cases, and
the shipped data/coco-mini-face is its output on data/coco-mini."""

import json
import sys

import pytest
from test_apis.tiny_model import ROOT

sys.path.insert(0, str(ROOT / 'tools' / 'dataset_converters'))
try:
    from coco_keypoint_subset import keypoint_subset, main
finally:
    sys.path.pop(0)

COCO = dict(
    images=[dict(id=1, file_name='a.jpg', width=10, height=10)],
    annotations=[
        # a, b, c: b unlabelled
        dict(id=7, image_id=1, keypoints=[1, 2, 2, 0, 0, 0, 5, 6, 1]),
        dict(id=8, image_id=1, keypoints=[0, 0, 0, 3, 4, 2, 0, 0, 0]),
    ],
    categories=[
        dict(
            id=1, keypoints=['a', 'b', 'c'], skeleton=[[1, 2], [2, 3], [1, 3]]
        )
    ],
)


def test_keeps_the_named_keypoints_in_their_order():
    subset = keypoint_subset(COCO, ['c', 'a'])
    first, second = subset['annotations']
    assert first['keypoints'] == [5, 6, 1, 1, 2, 2]
    assert first['num_keypoints'] == 2
    assert second['keypoints'] == [0, 0, 0, 0, 0, 0]
    assert second['num_keypoints'] == 0  # kept: training masks it out
    assert first['id'] == 7 and subset['images'] == COCO['images']
    category = subset['categories'][0]
    assert category['keypoints'] == ['c', 'a']
    # only the link between two kept keypoints, renumbered from 1
    assert category['skeleton'] == [[2, 1]]
    assert COCO['annotations'][0]['keypoints'][2] == 2  # input unchanged


@pytest.mark.parametrize('names', [['a', 'x'], ['a', 'a'], []])
def test_bad_names_are_errors(names):
    with pytest.raises(ValueError, match='--keypoints must name distinct'):
        keypoint_subset(COCO, names)


def test_shipped_face_data_is_its_output(tmp_path):
    out = tmp_path / 'face.json'
    main(
        [
            str(
                ROOT / 'data/coco-mini/annotations/'
                'person_keypoints_train2017.json'
            ),
            str(out),
            '--keypoints',
            *['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear'],
        ]
    )
    shipped = (
        ROOT / 'data/coco-mini-face/annotations/face_keypoints_train2017.json'
    )
    assert json.loads(out.read_text()) == json.loads(shipped.read_text())
