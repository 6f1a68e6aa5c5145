"""tools/dataset_converters/mpii_mat_to_json.py on a small .mat written with
scipy.io.savemat in the structure of the official
mpii_human_pose_v1_u12_1.mat (RELEASE.annolist, RELEASE.img_train)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from aeplugin.datasets.mpii_multi_person_annotations import (
    load_mpii_multi_person,
)

TOOL = (
    Path(__file__).parents[2]
    / 'tools'
    / 'dataset_converters'
    / 'mpii_mat_to_json.py'
)
RECT_FIELDS = ['x1', 'y1', 'x2', 'y2', 'annopoints', 'objpos', 'scale']
POINT_FIELDS = ['id', 'x', 'y', 'is_visible']


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('mpii_mat_to_json', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def struct_array(rows, fields):
    """A 1 x n MATLAB struct array; absent fields are empty ([])."""
    array = np.zeros((1, len(rows)), dtype=[(f, 'O') for f in fields])
    for i, row in enumerate(rows):
        for field in fields:
            array[0, i][field] = row.get(field, np.zeros((0, 0)))
    return array


def points(*rows):
    return dict(
        point=struct_array(
            [dict(zip(POINT_FIELDS, row)) for row in rows], POINT_FIELDS
        )
    )


@pytest.fixture(scope='module')
def mat_file(tmp_path_factory):
    # image 1 (train): a person with a head box and three points (the
    # is_visible flag as MATLAB stores it: a string, a number or empty),
    # a person rectangle without points, and a head box alone
    first = struct_array(
        [
            dict(
                x1=627.0,
                y1=100.0,
                x2=706.0,
                y2=198.0,
                annopoints=points(
                    (9, 695.98, 108.182, '1'),
                    (0, 620.0, 394.0, 1),
                    (3, 647.0, 188.0, np.zeros((0, 0))),
                ),
                objpos=dict(x=594.0, y=257.0),
                scale=3.021,
            ),
            dict(objpos=dict(x=900.0, y=250.0), scale=2.0),
            dict(x1=1.0, y1=2.0, x2=3.0, y2=4.0),
        ],
        RECT_FIELDS,
    )
    # image 2 (train): one person with a single point (squeezed by loadmat)
    second = struct_array(
        [
            dict(
                x1=10.0,
                y1=10.0,
                x2=40.0,
                y2=50.0,
                annopoints=points((8, 20.0, 45.0, 0)),
                objpos=dict(x=25.0, y=80.0),
                scale=1.0,
            )
        ],
        RECT_FIELDS,
    )
    # image 3 (test): a person to find, no joints
    third = struct_array(
        [dict(objpos=dict(x=50.0, y=60.0), scale=1.5)], RECT_FIELDS
    )
    annolist = struct_array(
        [
            dict(image=dict(name='015601864.jpg'), annorect=first),
            dict(image=dict(name='000000002.jpg'), annorect=second),
            dict(image=dict(name='000000003.jpg'), annorect=third),
            dict(image=dict(name='000000004.jpg')),
        ],
        ['image', 'annorect'],
    )
    path = tmp_path_factory.mktemp('mat') / 'mpii.mat'
    scipy.io.savemat(
        path,
        dict(
            RELEASE=dict(annolist=annolist, img_train=np.array([[1, 1, 0, 1]]))
        ),
    )
    return path


def test_train_split_to_json(tool, mat_file, tmp_path, capsys):
    out = tmp_path / 'mpii.json'
    tool.main([str(mat_file), str(out)])
    assert '3 people (2 with joints) on 2 images' in capsys.readouterr().out
    records = json.loads(out.read_text())
    assert [r['image'] for r in records] == [
        '015601864.jpg',
        '015601864.jpg',
        '000000002.jpg',
    ]

    first = records[0]
    assert first['head_box'] == [627.0, 100.0, 706.0, 198.0]
    assert first['center'] == [594.0, 257.0]
    assert first['scale'] == pytest.approx(3.021)
    expected_vis = [0] * 16
    for k in (0, 3, 9):
        expected_vis[k] = 1
    assert first['joints_vis'] == expected_vis
    assert first['joints'][9] == pytest.approx([695.98, 108.182])
    assert first['joints'][0] == [620.0, 394.0]
    assert first['joints'][3] == [647.0, 188.0]
    assert first['joints'][1] == [-1.0, -1.0]

    # a rectangle without points keeps its center and scale, for masking
    no_joints = records[1]
    assert no_joints['joints_vis'] == [0] * 16
    assert no_joints['center'] == [900.0, 250.0]
    assert no_joints['scale'] == 2.0
    assert 'head_box' not in no_joints

    single = records[2]
    assert single['joints_vis'] == [0] * 8 + [1] + [0] * 7
    assert single['joints'][8] == [20.0, 45.0]

    # the JSON loads as MPII annotations, grouped by image, head boxes read
    with pytest.warns(UserWarning, match=r'no labelled joint \(records \[1\]'):
        images = load_mpii_multi_person(out)
    assert [len(im['keypoints']) for im in images] == [2, 1]
    np.testing.assert_array_equal(
        images[0]['head_boxes'][0], [627, 100, 706, 198]
    )
    assert np.isnan(images[0]['head_boxes'][1]).all()


def test_splits_and_image_lists(tool, mat_file, tmp_path):
    test = tool.convert_mpii_mat(str(mat_file), 'test')
    assert [(r['image'], r['center']) for r in test] == [
        ('000000003.jpg', [50.0, 60.0])
    ]
    assert len(tool.convert_mpii_mat(str(mat_file), 'all')) == 4

    listed = tmp_path / 'val.json'
    listed.write_text(json.dumps([dict(image='000000002.jpg')]))
    names = tool.image_names(str(listed))
    only = tool.convert_mpii_mat(str(mat_file), only_images=names)
    skip = tool.convert_mpii_mat(str(mat_file), skip_images=names)
    assert {r['image'] for r in only} == {'000000002.jpg'}
    assert {r['image'] for r in skip} == {'015601864.jpg'}
    with pytest.raises(ValueError, match='split'):
        tool.convert_mpii_mat(str(mat_file), 'val')


def one_image_mat(tmp_path, rects):
    """A .mat of one training image, ``a.jpg``, with these rectangles."""
    annolist = struct_array(
        [dict(image=dict(name='a.jpg'), annorect=rects)], ['image', 'annorect']
    )
    path = tmp_path / 'one.mat'
    scipy.io.savemat(
        path, dict(RELEASE=dict(annolist=annolist, img_train=np.array([1])))
    )
    return path


def test_bad_point_id_is_named(tool, tmp_path):
    rects = struct_array(
        [dict(annopoints=points((16, 1.0, 2.0, 1)))], RECT_FIELDS
    )
    with pytest.raises(
        ValueError, match=r'annolist\(1\).annorect\(1\): point id must be'
    ):
        tool.convert_mpii_mat(str(one_image_mat(tmp_path, rects)))


def test_people_without_joints_of_one_image_all_load(tool, tmp_path):
    """Two rectangles of one image without points (kept for masking) have
    the same empty joints: the loader tells them apart by their boxes."""
    rects = struct_array(
        [
            dict(objpos=dict(x=100.0, y=120.0), scale=1.5),
            dict(objpos=dict(x=300.0, y=120.0), scale=1.2),
            dict(
                annopoints=points((9, 10.0, 20.0, 1)),
                objpos=dict(x=10.0, y=60.0),
                scale=1.0,
            ),
        ],
        RECT_FIELDS,
    )
    out = tmp_path / 'mpii.json'
    tool.main([str(one_image_mat(tmp_path, rects)), str(out)])
    with pytest.warns(
        UserWarning, match=r'no labelled joint \(records \[0, 1\]'
    ):
        (image,) = load_mpii_multi_person(out)
    assert image['keypoints_visible'].sum(1).tolist() == [0, 0, 1]
    np.testing.assert_array_equal(
        image['centers'], [[100, 120], [300, 120], [10, 60]]
    )
