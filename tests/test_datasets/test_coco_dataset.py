"""Bad annotations and images given to the plugin's CocoDataset: each is a
clear error or a counted, logged skip. The bad files are made here from
mmpose's test data (tests/data/coco)."""

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData, PixelData
from mmpose.structures import PoseDataSample
from torch.utils.data import DataLoader

from aeplugin.datasets import CocoDataset
from aeplugin.registry import DATASETS, MODELS

DATA = Path(__file__).parents[1] / 'data' / 'coco'
ANNOTATIONS = json.loads((DATA / 'test_coco.json').read_text())
# image 785 holds one person with 17 labelled keypoints (annotation 0)
PERSON = 0


def _images(tmp_path):
    """A copy of the test images, to spoil."""
    images = tmp_path / 'images'
    if not images.exists():
        shutil.copytree(DATA, images, ignore=shutil.ignore_patterns('*.json'))
    return images


def _build(tmp_path, annotations=None, **kwargs):
    """Write ``annotations`` (default: the test file) and the test images
    into ``tmp_path`` and build the dataset on them."""
    images = _images(tmp_path)
    ann_file = tmp_path / 'ann.json'
    if not isinstance(annotations, str):
        annotations = json.dumps(annotations or ANNOTATIONS)
    ann_file.write_text(annotations)
    cfg = dict(
        type='CocoDataset',
        data_mode='bottomup',
        ann_file=str(ann_file),
        data_prefix=dict(img=str(images) + '/'),
        **kwargs,
    )
    return DATASETS.build(cfg)


def _with(change):
    annotations = copy.deepcopy(ANNOTATIONS)
    change(annotations)
    return annotations


def test_scope_builds_the_plugin_dataset(tmp_path):
    dataset = _build(tmp_path)
    assert type(dataset) is CocoDataset
    assert len(dataset) == 4
    # the test file's two people without keypoints
    assert dataset.issues == {'people_without_keypoints': 2}


@pytest.mark.parametrize('key', ['images', 'annotations', 'categories'])
def test_not_coco_names_the_missing_key(tmp_path, key):
    annotations = _with(lambda a: a.pop(key))
    with pytest.raises(ValueError, match=rf"has no \['{key}'\]"):
        _build(tmp_path, annotations)


@pytest.mark.parametrize(
    'text, match',
    [
        ('[1, 2, 3]', 'ann.json is not a COCO annotation file'),
        ('{"images": [', 'ann.json is not a COCO annotation file'),
    ],
)
def test_not_a_coco_dict(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        _build(tmp_path, text)


def test_missing_annotation_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere.json'):
        DATASETS.build(
            dict(type='CocoDataset', ann_file=str(tmp_path / 'nowhere.json'))
        )


def test_annotation_of_an_unlisted_image(tmp_path):
    annotations = _with(lambda a: a['annotations'][0].update(image_id=7))
    with pytest.raises(ValueError, match=r'ids missing from `images` .*\[7\]'):
        _build(tmp_path, annotations)


def test_keypoints_of_the_wrong_length(tmp_path):
    def cut(a):
        a['annotations'][PERSON]['keypoints'] = [0] * 42

    ann_id = ANNOTATIONS['annotations'][PERSON]['id']
    with pytest.raises(
        ValueError,
        match=rf'annotation id {ann_id} of image 000000000785.jpg: '
        r'`keypoints` has 42 values, expected 3 x 17',
    ):
        _build(tmp_path, _with(cut))


def test_metainfo_of_another_keypoint_set(tmp_path):
    # MPII's 16 keypoints against COCO's 17 per annotation
    with pytest.raises(ValueError, match=r'expected 3 x 16 .*\'mpii\''):
        _build(
            tmp_path,
            metainfo=dict(from_file='configs/_base_/datasets/mpii.py'),
        )


def test_model_with_another_keypoint_number_than_the_data():
    head = MODELS.build(
        dict(
            type='AssociativeEmbeddingHead',
            in_channels=28,
            num_keypoints=14,
            final_layer=None,
        )
    )
    sample = PoseDataSample(
        gt_fields=PixelData(heatmaps=torch.zeros(17, 16, 16)),
        gt_instance_labels=InstanceData(
            keypoint_indices=torch.zeros(1, 17, 2, dtype=torch.long)
        ),
    )
    with pytest.raises(ValueError, match=r'target heatmaps are \(17, 16'):
        head.loss([torch.zeros(1, 28, 16, 16)], [sample])


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_nonfinite_keypoints(tmp_path, bad):
    def spoil(a):
        a['annotations'][PERSON]['keypoints'][3 * 5 + 1] = bad

    with pytest.raises(
        ValueError,
        match=r'`keypoints` has NaN or infinite values at keypoints \[5\]',
    ):
        _build(tmp_path, _with(spoil))


def test_bbox_and_image_size_are_checked(tmp_path):
    bad_box = _with(lambda a: a['annotations'][PERSON].update(bbox=[1, 2]))
    with pytest.raises(ValueError, match='`bbox` must be 4 finite'):
        _build(tmp_path, bad_box)
    no_width = _with(lambda a: a['images'][0].pop('width'))
    with pytest.raises(ValueError, match='positive `width` and `height`'):
        _build(tmp_path, no_width)
    no_keypoints = _with(lambda a: a['annotations'][PERSON].pop('keypoints'))
    with pytest.raises(ValueError, match='has no `keypoints`'):
        _build(tmp_path, no_keypoints)


def test_keypoints_outside_the_image_are_unlabelled_and_counted(tmp_path):
    def move(a):
        keypoints = a['annotations'][PERSON]['keypoints']
        keypoints[0] = 5000.0  # far right of the 640-wide image
        keypoints[3 * 2 + 1] = -3.0  # above it
        keypoints[3 * 4] = -1e6

    dataset = _build(tmp_path, _with(move))
    assert dataset.issues['keypoints_outside_image'] == 3
    info = dataset.get_data_info(0)
    assert info['img_id'] == 785
    np.testing.assert_array_equal(
        np.flatnonzero(info['keypoints_visible'][0] == 0), [0, 2, 4]
    )
    assert info['num_keypoints'][0] == 14


def test_person_without_keypoints_crowd_only_and_empty_images(tmp_path):
    images = _images(tmp_path)

    def add(a):
        shutil.copy(DATA / '000000000785.jpg', images / 'crowd.jpg')
        shutil.copy(DATA / '000000000785.jpg', images / 'empty.jpg')
        image = a['images'][0]
        a['images'] += [
            dict(image, id=1, file_name='crowd.jpg'),
            dict(image, id=2, file_name='empty.jpg'),
        ]
        crowd = dict(
            a['annotations'][PERSON],
            id=10**9,
            image_id=1,
            iscrowd=1,
            num_keypoints=0,
            keypoints=[0] * 51,
            segmentation=[[10, 10, 200, 10, 200, 200, 10, 200]],
        )
        a['annotations'].append(crowd)

    annotations = _with(add)
    dataset = _build(tmp_path, annotations)
    assert dataset.issues == {
        'people_without_keypoints': 2,
        'crowd_only_images': 1,
        'images_without_people': 1,
    }
    ids = [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))]
    assert 1 in ids and 2 not in ids
    crowd = dataset.get_data_info(ids.index(1))
    assert crowd['keypoints_visible'].sum() == 0
    assert len(crowd['invalid_segs']) == 1

    evaluated = _build(tmp_path, annotations, test_mode=True)
    assert 'images_without_people' not in evaluated.issues
    assert 2 in [evaluated.get_data_info(i)['img_id'] for i in range(6)]


def _spoil_images(images):
    (images / '000000000785.jpg').unlink()
    (images / '000000040083.jpg').write_bytes(b'')
    data = (images / '000000196141.jpg').read_bytes()
    (images / '000000196141.jpg').write_bytes(data[: len(data) * 9 // 10])


def test_unreadable_images_raise_or_are_skipped_with_a_count(tmp_path):
    _spoil_images(_images(tmp_path))
    with pytest.raises(ValueError) as error:
        _build(tmp_path)
    message = str(error.value)
    assert message.startswith('3 image files of ')
    assert '000000000785.jpg is missing' in message
    assert '000000040083.jpg is empty (0 bytes)' in message
    assert '000000196141.jpg is a truncated JPEG' in message

    dataset = _build(tmp_path, bad_images='skip')
    assert dataset.issues['bad_images_skipped'] == 3
    assert [dataset.get_data_info(0)['img_id']] == [197388]
    assert len(dataset) == 1


def test_a_failing_worker_names_the_sample(tmp_path):
    _spoil_images(_images(tmp_path))
    dataset = _build(
        tmp_path,
        check_images=False,
        pipeline=[dict(type='LoadImage')],
    )
    # without workers: mmpose's LoadImage names the file, we add the sample
    with pytest.raises(AssertionError) as error:
        dataset[2]
    assert 'sample 2 of CocoDataset (image id 196141' in str(error.value)
    assert 'failed to load image' in str(error.value)
    # two workers, one of them raising: an error in the main process, no
    # hang (the timeout would raise a different error)
    loader = DataLoader(
        dataset,
        batch_size=1,
        num_workers=2,
        collate_fn=pseudo_collate,
        timeout=60,
    )
    batches = iter(loader)
    try:
        with pytest.raises(Exception) as error:
            list(batches)
    finally:
        # now, not when the garbage collector finds it (seconds later)
        batches._shutdown_workers()
    message = str(error.value)
    assert 'DataLoader worker process' in message
    assert 'of CocoDataset (image id ' in message
    assert 'Timeout' not in type(error.value).__name__


def test_pipeline_returning_none_is_not_silently_replaced(tmp_path):
    dataset = _build(tmp_path, pipeline=[lambda results: None])
    # mmengine's BaseDataset would train on a random other image instead
    with pytest.raises(ValueError, match='sample 1 .* returned None'):
        dataset[1]
