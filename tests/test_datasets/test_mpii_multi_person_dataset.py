"""MpiiMultiPersonDataset on the real MPII annotations of tests/data (both
JSON layouts) and on hand-made records: grouping, sample keys, masking of
people without joints, and the messages for bad records."""

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from aeplugin.datasets import MpiiMultiPersonDataset
from aeplugin.datasets.mpii_multi_person_annotations import (
    load_mpii_multi_person,
)
from aeplugin.registry import DATASETS

DATA = Path(__file__).parents[1] / 'data'
MPII_ROOT = DATA / 'mpii'
PER_PERSON = DATA / 'mpii-multi' / 'mpii_annotations.json'
# MPII's left/right joint pairs, written out by hand
MPII_FLIP_INDICES = [5, 4, 3, 2, 1, 0, 6, 7, 8, 9, 15, 14, 13, 12, 11, 10]


def build(ann_file, pipeline=(), **kwargs):
    return DATASETS.build(
        dict(
            type='MpiiMultiPersonDataset',
            ann_file=str(ann_file),
            data_prefix=dict(img=str(MPII_ROOT) + '/'),
            pipeline=list(pipeline),
            **kwargs,
        )
    )


def build_quiet(ann_file, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return build(ann_file, **kwargs)


def mmpose_record(image, vis=None, **fields):
    record = dict(
        image=image,
        joints=(np.arange(32.0).reshape(16, 2) + 100.0).tolist(),
        joints_vis=[1] * 16 if vis is None else vis,
        center=[120.0, 120.0],
        scale=1.0,
    )
    record.update(fields)
    return record


def write(tmp_path, records, name='ann.json'):
    path = tmp_path / name
    path.write_text(json.dumps(records))
    return path


def records_of(path):
    with open(path) as f:
        return json.load(f)


def test_per_person_layout_groups_every_person_of_an_image():
    with pytest.warns(UserWarning, match='6 joints of people listed only'):
        dataset = build(PER_PERSON)
    assert len(dataset) == 100
    counts = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        counts[Path(info['img_path']).name] = len(info['keypoints'])
    # 168 records plus 45 people listed only in `joint_others`
    assert sum(counts.values()) == 213
    # two records that list each other: two people, not four
    assert counts['070807258.jpg'] == 2
    # one record with six others
    assert counts['012203823.jpg'] == 7

    records = [
        r for r in records_of(PER_PERSON) if r['img_paths'] == '070807258.jpg'
    ]
    info = next(
        dataset.get_data_info(i)
        for i in range(len(dataset))
        if dataset.get_data_info(i)['img_path'].endswith('070807258.jpg')
    )
    for person, record in zip(info['keypoints'], records):
        joint_self = np.array(record['joint_self'])
        labelled = (joint_self[:, :2] != 0).any(-1)
        np.testing.assert_allclose(person[labelled], joint_self[labelled, :2])
    # an occluded joint (visible 0, with coordinates) is labelled,
    # an unannotated one ([0, 0, 0]) is not
    first = np.array(records[0]['joint_self'])
    assert first[5, 2] == 0 and (first[5, :2] != 0).all()
    assert info['keypoints_visible'][0, 5] == 1
    one_ankle = np.array(records_of(PER_PERSON)[2]['joint_self'])
    assert (one_ankle[0] == 0).all()
    # record 2 is the first person of the second image
    assert not dataset.get_data_info(1)['keypoints_visible'][0, 0]


def test_both_layouts_agree_on_an_image_they_share():
    """051423444.jpg is in mmpose's test file and in the per-person file."""
    mmpose = build(MPII_ROOT / 'test_mpii.json')
    per_person = build_quiet(PER_PERSON)

    def find(dataset):
        return next(
            dataset.get_data_info(i)
            for i in range(len(dataset))
            if dataset.get_data_info(i)['img_id'] == 51423444
        )

    a, b = find(mmpose), find(per_person)
    assert a['keypoints'].shape == b['keypoints'].shape == (1, 16, 2)
    np.testing.assert_allclose(a['keypoints'], b['keypoints'], atol=1e-3)
    np.testing.assert_array_equal(
        a['keypoints_visible'], b['keypoints_visible']
    )
    # ankles unlabelled in both
    assert a['keypoints_visible'][0, [0, 5]].tolist() == [0, 0]


def test_sample_has_the_keys_of_coco_bottomup_samples():
    dataset = build(MPII_ROOT / 'test_mpii.json')
    assert dataset.metainfo['dataset_name'] == 'mpii'
    assert dataset.metainfo['flip_indices'] == MPII_FLIP_INDICES
    info = dataset.get_data_info(0)
    coco = DATASETS.build(
        dict(
            type='CocoDataset',
            data_root=str(DATA / 'coco'),
            data_mode='bottomup',
            ann_file='test_coco.json',
        )
    )
    coco_keys = set(coco.get_data_info(0))
    # MPII has no segmentations; head boxes are MPII's
    assert coco_keys - set(info) == {'segmentation'}
    assert set(info) - coco_keys == {'head_boxes'}

    record = records_of(MPII_ROOT / 'test_mpii.json')[0]
    joints = np.array(record['joints'], np.float32)
    assert info['img_id'] == 5808361
    assert info['img_path'].endswith('005808361.jpg')
    np.testing.assert_array_equal(info['keypoints'][0], joints)
    assert info['keypoints'].dtype == np.float32
    np.testing.assert_array_equal(info['keypoints_visible'], np.ones((1, 16)))
    np.testing.assert_array_equal(
        info['bbox'], [[*joints.min(0), *joints.max(0)]]
    )
    assert info['area'][0] == pytest.approx(np.prod(np.ptp(joints, 0)))
    assert info['num_keypoints'] == [16]
    assert info['iscrowd'] == [0]
    assert info['category_id'].tolist() == [1]
    assert info['invalid_segs'] == []
    assert np.isnan(info['head_boxes']).all()
    assert info['raw_ann_info'][0]['head_box'] is None


def test_mmpose_layout_groups_records_and_reads_head_boxes(tmp_path):
    records = [
        mmpose_record('1.jpg', head_box=[1, 2, 31, 42]),
        mmpose_record('2.jpg'),
        mmpose_record('1.jpg', vis=[0] * 8 + [1] * 8),
    ]
    records[2]['joints'] = (np.array(records[2]['joints']) + 50).tolist()
    dataset = build(write(tmp_path, records), test_mode=True)
    assert len(dataset) == 2
    first = dataset.get_data_info(0)
    assert first['img_id'] == 1
    assert first['keypoints'].shape == (2, 16, 2)
    assert first['id'] == [0, 1]
    assert dataset.get_data_info(1)['id'] == [2]
    np.testing.assert_array_equal(first['head_boxes'][0], [1, 2, 31, 42])
    assert np.isnan(first['head_boxes'][1]).all()
    # unlabelled joints are zeroed, as COCO's
    assert (first['keypoints'][1, :8] == 0).all()
    assert first['raw_ann_info'][0]['head_box'] == [1, 2, 31, 42]


def test_subset_splits_images_of_the_per_person_layout():
    train = build_quiet(PER_PERSON, subset='train')
    val = build_quiet(PER_PERSON, subset='val')
    assert (len(train), len(val)) == (84, 16)
    names = {
        *(train.get_data_info(i)['img_path'] for i in range(len(train))),
        *(val.get_data_info(i)['img_path'] for i in range(len(val))),
    }
    assert len(names) == 100
    with pytest.raises(ValueError, match='isValidation'):
        build(MPII_ROOT / 'test_mpii.json', subset='val')


def test_person_without_joints_is_masked_by_its_box(tmp_path):
    """MPII has no segmentations: the center/scale box of a person without
    labelled joints is the invalid region that BottomupCrowdMask ignores."""
    records = records_of(MPII_ROOT / 'test_mpii.json')[:1]
    records.append(
        dict(
            image='005808361.jpg',
            joints=[[-1.0, -1.0]] * 16,
            joints_vis=[0] * 16,
            center=[300.0, 360.0],
            scale=1.6,
        )
    )
    pipeline = [
        dict(type='LoadImage'),
        dict(
            type='BottomupRandomAffine',
            input_size=(512, 512),
            shift_factor=0.0,
            scale_factor=(1.0, 1.0),
            rotate_factor=0.0,
        ),
        dict(
            type='GenerateTarget',
            encoder=dict(
                type='BottomupGrouping',
                input_size=(512, 512),
                heatmap_size=(128, 128),
                sigma=2,
            ),
        ),
        dict(type='BottomupCrowdMask'),
    ]
    with pytest.warns(UserWarning, match=r'no labelled joint \(records \[1\]'):
        dataset = build(write(tmp_path, records), pipeline=pipeline)
    info = dataset.get_data_info(0)
    # the box is 1.6 * 200 = 320 px around the center
    assert info['invalid_segs'] == [[[140, 200, 460, 200, 460, 520, 140, 520]]]
    np.testing.assert_array_equal(info['bbox'][1], [140, 200, 460, 520])
    assert info['num_keypoints'] == [16, 0]

    results = dataset[0]
    mask = results['heatmap_mask'][0]
    # heatmap pixel of each original pixel: the sample's warp, then / 4
    warp = np.diag([0.25, 0.25, 1.0]) @ np.vstack(
        [results['warp_mat'], [0.0, 0.0, 1.0]]
    )
    (x1, x2), (y1, y2) = (
        (warp[:2] @ np.array([[140.0, 460.0], [200.0, 520.0], [1.0, 1.0]]))
        .round()
        .astype(int)
    )
    assert 0 < x2 < 128 and 0 < y1 < y2 < 128
    # pixels well inside the box are ignored, those right of it kept
    assert (mask[y1 + 2 : y2 - 2, max(x1, 0) : x2 - 2] == 0).all()
    assert (mask[:, x2 + 2 :] == 1).all()


def _message(kind, tmp_path):
    good = mmpose_record('1.jpg')
    if kind == 'missing joints':
        bad = dict(good)
        del bad['joints']
        return [good, bad], r"record 1 \(image '1.jpg'\): missing `joints`"
    if kind == 'partial joints':
        bad = dict(good, joints=good['joints'][:15])
        return [bad], (
            r"record 0 \(image '1.jpg'\): `joints` must have shape "
            r'\(16, 2\), got shape \(15, 2\)'
        )
    if kind == 'no joint field at all':
        return [dict(img_paths='1.jpg')], (
            r"record 0 \(image '1.jpg'\): missing joints: neither `joints`"
        )
    if kind == 'image listed twice':
        other = mmpose_record('2.jpg')
        return [good, other, dict(good)], (
            r"record 2 \(image '1.jpg'\) repeats record 0: the same person "
            'of the same image is listed twice'
        )
    if kind == 'image listed twice under two MPII indices':
        records = [
            dict(
                img_paths='1.jpg',
                joint_self=[[1.0, 2.0, 1.0]] * 16,
                annolist_index=index,
                people_index=1.0,
            )
            for index in (5.0, 9.0)
        ]
        return records, (
            r"image '1.jpg' is listed twice: records 0 and 1 have "
            'annolist_index 5.0 and 9.0'
        )
    raise KeyError(kind)


@pytest.mark.parametrize(
    'kind',
    [
        'missing joints',
        'partial joints',
        'no joint field at all',
        'image listed twice',
        'image listed twice under two MPII indices',
    ],
)
def test_bad_records_are_named(kind, tmp_path):
    records, message = _message(kind, tmp_path)
    with pytest.raises(ValueError, match=message):
        build(write(tmp_path, records))


def test_person_with_no_visible_joint_is_named_not_fatal(tmp_path):
    records = [mmpose_record('1.jpg') for _ in range(3)]
    for i in (1, 2):
        records[i]['joints'] = (np.array(records[i]['joints']) + i).tolist()
    records[2]['joints_vis'] = [0] * 16
    with pytest.warns(
        UserWarning,
        match=re.escape('1 people have no labelled joint (records [2])'),
    ):
        images = load_mpii_multi_person(write(tmp_path, records))
    assert images[0]['keypoints_visible'].sum(1).tolist() == [16, 16, 0]


def test_people_without_joints_are_told_apart_by_their_box(tmp_path):
    """As mpii_mat_to_json.py writes them: every rectangle with a center and
    a scale, with or without joints. Two people of one image without joints
    have the same (empty) joints but not the same box."""
    unlabelled = dict(joints=[[-1.0, -1.0]] * 16, joints_vis=[0] * 16)
    records = [
        mmpose_record('1.jpg'),
        mmpose_record('1.jpg', center=[300.0, 360.0], scale=1.6, **unlabelled),
        mmpose_record('1.jpg', center=[80.0, 90.0], scale=0.5, **unlabelled),
        # same box, another head box: another person
        mmpose_record(
            '1.jpg',
            center=[80.0, 90.0],
            scale=0.5,
            head_box=[60, 50, 90, 80],
            **unlabelled,
        ),
    ]
    with pytest.warns(UserWarning, match=r'records \[1, 2, 3\]'):
        (image,) = load_mpii_multi_person(write(tmp_path, records))
    assert image['keypoints_visible'].sum(1).tolist() == [16, 0, 0, 0]
    assert image['record_indices'].tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(image['scales'], [1.0, 1.6, 0.5, 0.5])

    # the same person without joints twice is still a repeat
    with pytest.raises(ValueError, match='record 4 .* repeats record 2'):
        load_mpii_multi_person(write(tmp_path, [*records, records[2]]))


def test_other_bad_fields(tmp_path):
    cases = [
        (
            [mmpose_record('1.jpg', head_box=[1, 2, 3])],
            r'`head_box` must have shape \(4,\), got shape \(3,\)',
        ),
        (
            [mmpose_record('1.jpg', head_box=[5, 5, 5, 5])],
            '`head_box` must be a finite',
        ),
        (
            [mmpose_record('1.jpg', joints=None)],
            r'`joints` must have shape \(16, 2\), got shape \(\)',
        ),
        (
            [mmpose_record('1.jpg', joints=[[1, 2], [3]])],
            '`joints` must be numbers of shape',
        ),
        ([dict(image='')], '`image` must be an image file name'),
        (
            [
                mmpose_record('1.jpg'),
                dict(img_paths='2.jpg', joint_self=[[0, 0, 0]] * 16),
            ],
            'record 1 mixes the two MPII layouts',
        ),
    ]
    for records, message in cases:
        with pytest.raises(ValueError, match=message):
            load_mpii_multi_person(records)
    with pytest.raises(TypeError, match='list of person records'):
        load_mpii_multi_person(write(tmp_path, {'a': 1}))
    with pytest.raises(ValueError, match='bottom-up only'):
        MpiiMultiPersonDataset(
            ann_file=str(PER_PERSON), data_mode='topdown', lazy_init=True
        )


def _mpii_bottomup_cfg():
    from mmengine.config import Config

    return Config.fromfile(
        str(
            Path(__file__).parents[2]
            / 'configs'
            / '_base_'
            / 'datasets'
            / 'mpii_bottomup.py'
        )
    )


def test_ae_training_pipeline_runs_unchanged():
    """The AE training pipeline of the MPII config packs every sample."""
    cfg = _mpii_bottomup_cfg()
    dataset = build(MPII_ROOT / 'test_mpii.json', cfg.train_pipeline)
    np.random.seed(0)
    for i in range(len(dataset)):
        packed = dataset[i]
        sample = packed['data_samples']
        assert packed['inputs'].shape == (3, 512, 512)
        assert sample.gt_fields.heatmaps.shape == (16, 128, 128)
        assert sample.gt_fields.heatmap_mask.shape == (1, 128, 128)
        indices = sample.gt_instance_labels.keypoint_indices
        assert tuple(indices.shape) == (1, 16, 2)
        assert indices[..., 1].sum() > 0


def test_encoded_positions_follow_the_affine():
    """Without the flip, each labelled joint is encoded at its warped
    position, channel by channel (MPII's 16 joints through the codec)."""
    cfg = _mpii_bottomup_cfg()
    steps = [
        s for s in cfg.train_pipeline if s['type'] != 'BottomupRandomFlip'
    ]
    dataset = build(MPII_ROOT / 'test_mpii.json', steps[:-1])
    W = 128
    np.random.seed(0)
    checked = 0
    for _ in range(2):
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            results = dataset[i]
            indices = results['keypoint_indices']
            assert results['heatmaps'].shape == (16, W, W)
            warp = np.asarray(results['warp_mat'], np.float64)
            warped = info['keypoints'] @ warp[:, :2].T + warp[:, 2]
            labelled = (info['keypoints_visible'] > 0) & (
                (warped >= 0) & (warped <= 512)
            ).all(-1)
            cell = np.floor(warped / 4 + 0.5).astype(np.int64)
            x, y = cell[..., 0], cell[..., 1]
            visible = labelled & (x >= 0) & (x < W) & (y >= 0) & (y < W)
            np.testing.assert_array_equal(indices[..., 1] > 0, visible)
            np.testing.assert_array_equal(
                indices[..., 0][visible], (y * W + x)[visible]
            )
            checked += visible.sum()
    assert checked > 50
