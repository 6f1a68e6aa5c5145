"""MPII multi-person annotations, read from either of two JSON layouts into
one per-image form shared by :class:`MpiiMultiPersonDataset`, the
``MpiiMultiPersonMetric`` and ``tools/analysis/eval_mpii_multi.py``.

Both layouts hold one record per person; the records of an image are
grouped into one image entry, in the order the images first appear.

- mmpose's MPII JSON: ``image`` (file name), ``joints`` (16 [x, y]),
  ``joints_vis`` (16 flags, 1 = labelled, occluded joints included),
  ``center`` [x, y] and ``scale`` (person height / 200), and optionally
  ``head_box`` [x1, y1, x2, y2], the head rectangle of the official .mat
  (``tools/dataset_converters/mpii_mat_to_json.py`` writes it).
- The common per-person JSON: ``img_paths``, ``joint_self`` (16 [x, y,
  visible], an unlabelled joint is [0, 0, 0] and an occluded one has
  visible 0), ``objpos``, ``scale_provided``, ``annolist_index``,
  ``people_index``, ``isValidation`` and the other people of the image in
  ``joint_others`` / ``objpos_other`` / ``scale_provided_other``.

In the second layout a person with a record of its own is described by its
``joint_self``; its copies in the other records' ``joint_others`` are
recognised by their ``objpos`` and skipped, because those copies are not
reliable (in the public file some joints of the copies are dropped or hold a
value of another person's same joint). People listed only in
``joint_others`` are added from their first copy, without a joint whose
[x, y] equals the same joint of another person of the image: such a joint
is a stale copy, not an annotation.

Coordinates stay as written (MPII's own pixel coordinates, as mmpose uses
them).
"""

import json
import os
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.fileio import get_local_path

MPII_NUM_JOINTS = 16
_SUBSETS = ('train', 'val')
# the public per-person file stores an empty MATLAB array as this dict
_MATLAB_EMPTY_KEY = '_ArrayType_'


def _where(index: int, image) -> str:
    return f'record {index} (image {image!r})'


def _array(value, shape: Tuple[int, ...], field: str, where: str):
    """``value`` as a float64 array of ``shape``, or a ValueError that names
    the field, the wanted shape and the shape it got."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f'{where}: `{field}` must be numbers of shape {shape}, got '
            f'{value!r:.80}'
        ) from error
    if array.shape != shape:
        raise ValueError(
            f'{where}: `{field}` must have shape {shape}, got shape '
            f'{array.shape}'
        )
    return array


def _image_name(index: int, record: dict, field: str) -> str:
    name = record.get(field)
    if not isinstance(name, str) or not name:
        raise ValueError(
            f'record {index}: `{field}` must be an image file name, got '
            f'{name!r}'
        )
    return name


def _check_labelled_finite(joints, labelled, where: str, field: str):
    bad = labelled & ~np.isfinite(joints).all(-1)
    if bad.any():
        raise ValueError(
            f'{where}: `{field}` has non-finite coordinates at labelled '
            f'joints {np.flatnonzero(bad).tolist()}'
        )


def _head_box(record: dict, where: str) -> np.ndarray:
    if record.get('head_box') is None:
        return np.full(4, np.nan)
    box = _array(record['head_box'], (4,), 'head_box', where)
    if not np.isfinite(box).all() or np.hypot(*(box[2:] - box[:2])) <= 0:
        raise ValueError(
            f'{where}: `head_box` must be a finite [x1, y1, x2, y2] with '
            f'x1, y1 != x2, y2, got {box.tolist()}'
        )
    return box


def _center_scale(
    center, scale, where: str, fields: Tuple[str, str]
) -> Tuple[np.ndarray, float]:
    """Person center and scale, NaN where absent (mmpose writes -1)."""
    if center is None or _is_matlab_empty(center):
        center = np.full(2, np.nan)
    else:
        center = _array(center, (2,), fields[0], where)
        if (center == -1).all():
            center = np.full(2, np.nan)
    if scale is None or _is_matlab_empty(scale):
        return center, np.nan
    scale = float(_array(scale, (), fields[1], where))
    return center, scale if scale > 0 else np.nan


def _is_matlab_empty(value) -> bool:
    return (isinstance(value, dict) and _MATLAB_EMPTY_KEY in value) or (
        isinstance(value, list) and not value
    )


def _person(joints, labelled, center, scale, head_box, index) -> Dict:
    return dict(
        joints=np.where(labelled[:, None], joints, 0.0),
        labelled=labelled,
        center=center,
        scale=scale,
        head_box=head_box,
        record=index,
    )


def _identity(image: str, person: Dict) -> tuple:
    """What makes a person of ``image`` the same as another record's: its
    labelled joints, or for a person without any, its box (center, scale
    and head box). People without joints are kept on purpose (the dataset
    masks their box out of the loss; ``mpii_mat_to_json.py`` writes every
    rectangle that has a center and a scale) and all have the same empty
    joints, so joints alone would call two of them in one image a person
    listed twice."""
    if person['labelled'].any():
        return (
            image,
            'joints',
            person['joints'].tobytes(),
            person['labelled'].tobytes(),
        )
    return (
        image,
        'box',
        person['center'].tobytes(),
        np.float64(person['scale']).tobytes(),
        person['head_box'].tobytes(),
    )


def _parse_mmpose_record(index: int, record: dict):
    image = _image_name(index, record, 'image')
    where = _where(index, image)
    for field, what in (('joints', '[x, y] pairs'), ('joints_vis', 'flags')):
        if field not in record:
            raise ValueError(
                f"{where}: missing `{field}` (16 {what} in mmpose's MPII "
                'format)'
            )
    joints = _array(record['joints'], (MPII_NUM_JOINTS, 2), 'joints', where)
    labelled = (
        _array(record['joints_vis'], (MPII_NUM_JOINTS,), 'joints_vis', where)
        > 0
    )
    _check_labelled_finite(joints, labelled, where, 'joints')
    center, scale = _center_scale(
        record.get('center'), record.get('scale'), where, ('center', 'scale')
    )
    person = _person(
        joints, labelled, center, scale, _head_box(record, where), index
    )
    return image, person, _identity(image, person)


def _joints_xyv(value, field: str, where: str):
    """[x, y, visible] rows: joints and their labelled flags (a joint is
    unlabelled when it is [0, 0, 0])."""
    joints = _array(value, (MPII_NUM_JOINTS, 3), field, where)
    labelled = (joints[:, 2] > 0) | (joints[:, :2] != 0).any(-1)
    _check_labelled_finite(joints[:, :2], labelled, where, field)
    return joints[:, :2], labelled


def _others(record: dict, where: str) -> List[Tuple]:
    """The people of ``joint_others`` as (joints, labelled, center, scale)."""
    joints = record.get('joint_others')
    if joints is None or _is_matlab_empty(joints):
        return []
    try:
        joints = np.asarray(joints, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f'{where}: `joint_others` must be numbers of shape (16, 3) or '
            '(n, 16, 3)'
        ) from error
    if joints.shape == (MPII_NUM_JOINTS, 3):
        joints = joints[None]
    if joints.ndim != 3 or joints.shape[1:] != (MPII_NUM_JOINTS, 3):
        raise ValueError(
            f'{where}: `joint_others` must have shape (16, 3) or (n, 16, '
            f'3), got shape {joints.shape}'
        )
    n = len(joints)
    centers = record.get('objpos_other')
    scales = record.get('scale_provided_other')
    centers = (
        [None] * n
        if centers is None or _is_matlab_empty(centers)
        else np.asarray(centers, dtype=np.float64).reshape(-1, 2)
    )
    scales = (
        [None] * n
        if scales is None or _is_matlab_empty(scales)
        else np.asarray(scales, dtype=np.float64).reshape(-1)
    )
    if len(centers) != n or len(scales) != n:
        raise ValueError(
            f'{where}: `joint_others` lists {n} people but `objpos_other` '
            f'{len(centers)} and `scale_provided_other` {len(scales)}'
        )
    people = []
    for j in range(n):
        other_where = f'{where}, joint_others[{j}]'
        xy, labelled = _joints_xyv(joints[j], 'joint_others', other_where)
        center, scale = _center_scale(
            centers[j],
            scales[j],
            other_where,
            ('objpos_other', 'scale_provided_other'),
        )
        people.append((xy, labelled, center, scale))
    return people


def _parse_per_person_record(index: int, record: dict):
    image = _image_name(index, record, 'img_paths')
    where = _where(index, image)
    xy, labelled = _joints_xyv(record['joint_self'], 'joint_self', where)
    center, scale = _center_scale(
        record.get('objpos'),
        record.get('scale_provided'),
        where,
        ('objpos', 'scale_provided'),
    )
    person = _person(
        xy, labelled, center, scale, _head_box(record, where), index
    )
    if 'annolist_index' in record and 'people_index' in record:
        identity = (image, record['annolist_index'], record['people_index'])
    else:
        identity = _identity(image, person)
    return image, person, identity


def _read_records(ann) -> list:
    if isinstance(ann, (str, os.PathLike)):
        with get_local_path(str(ann)) as local_path:
            with open(local_path) as f:
                records = json.load(f)
    else:
        records = ann
    if not isinstance(records, list):
        raise TypeError(
            'MPII annotations must be a list of person records, got '
            f'{type(records).__name__}'
        )
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise TypeError(
                f'record {i} must be a dict, got {type(record).__name__}'
            )
    return records


def _layout(records: list) -> str:
    """'mmpose' or 'per_person', checked on every record."""
    layouts = set()
    for i, record in enumerate(records):
        if 'joint_self' in record:
            layouts.add('per_person')
        elif 'joints' in record or 'image' in record:
            layouts.add('mmpose')
        else:
            name = record.get('image', record.get('img_paths'))
            raise ValueError(
                f'{_where(i, name)}: missing joints: neither `joints` '
                "(mmpose's MPII format) nor `joint_self` (the per-person "
                'format with `joint_others`)'
            )
        if len(layouts) > 1:
            raise ValueError(
                f'record {i} mixes the two MPII layouts: earlier records '
                'have `joints` (mmpose) and this one `joint_self`, or the '
                'other way round'
            )
    return layouts.pop() if layouts else 'mmpose'


def _drop_stale_joints(people: List[Dict], extra: List[bool]) -> int:
    """Unlabel the joints of people known only from ``joint_others`` that
    repeat another person's same joint exactly. Returns how many."""
    dropped = 0
    for i, person in enumerate(people):
        if not extra[i]:
            continue
        for j, other in enumerate(people):
            if i == j:
                continue
            same = (
                person['labelled']
                & other['labelled']
                & (person['joints'] == other['joints']).all(-1)
            )
            dropped += int(same.sum())
            person['labelled'] = person['labelled'] & ~same
            person['joints'][same] = 0.0
    return dropped


def _image_entry(image: str, people: List[Dict]) -> Dict:
    return dict(
        image=image,
        keypoints=np.stack([p['joints'] for p in people]),
        keypoints_visible=np.stack([p['labelled'] for p in people]).astype(
            np.float64
        ),
        head_boxes=np.stack([p['head_box'] for p in people]),
        centers=np.stack([p['center'] for p in people]),
        scales=np.array([p['scale'] for p in people], dtype=np.float64),
        record_indices=np.array([p['record'] for p in people], np.int64),
    )


def load_mpii_multi_person(
    ann: Union[str, os.PathLike, Sequence[dict]],
    subset: Optional[str] = None,
) -> List[Dict]:
    """Read MPII person records and group them by image.

    Note:
        - people of an image: N
        - MPII joints: K = 16

    Args:
        ann (str | PathLike | Sequence[dict]): A JSON file, or its records,
            in either layout of this module's docstring
        subset (str, optional): ``'train'`` or ``'val'`` keeps the images of
            that split of the per-person layout (``isValidation``; an image
            with any validation person is a validation image, so no person
            is in both). ``None`` keeps all. Defaults to ``None``

    Returns:
        List[dict]: One entry per image, in the order of first appearance:

        - ``image`` (str): the file name as written
        - ``keypoints`` (np.ndarray): (N, K, 2) float64, 0 where unlabelled
        - ``keypoints_visible`` (np.ndarray): (N, K) float64, 1 = labelled
        - ``head_boxes`` (np.ndarray): (N, 4) [x1, y1, x2, y2], NaN where the
          record has none
        - ``centers`` (np.ndarray): (N, 2), NaN where absent
        - ``scales`` (np.ndarray): (N,) person height / 200, NaN where absent
        - ``record_indices`` (np.ndarray): (N,) the record each person comes
          from

    Raises:
        ValueError: A record without joints, with wrongly shaped fields, a
            person listed twice or an image listed twice under different
            MPII indices: the message names the record index
        TypeError: The file does not hold a list of dicts

    Warns:
        UserWarning: People without any labelled joint (record indices
            listed; they stay in their image, unlabelled), and stale joints
            dropped from people listed only in ``joint_others``
    """
    if subset not in (None, *_SUBSETS):
        raise ValueError(f'subset must be None or one of {_SUBSETS}')
    records = _read_records(ann)
    layout = _layout(records)
    if subset is not None and layout != 'per_person':
        raise ValueError(
            'subset selects by `isValidation` of the per-person layout; '
            "mmpose's MPII files are split into files already"
        )
    parse = {
        'mmpose': _parse_mmpose_record,
        'per_person': _parse_per_person_record,
    }[layout]

    people: Dict[str, List[Dict]] = {}
    extra: Dict[str, List[bool]] = {}
    seen: Dict[tuple, int] = {}
    first_record: Dict[str, int] = {}
    is_val: Dict[str, bool] = {}
    for i, record in enumerate(records):
        image, person, identity = parse(i, record)
        if identity in seen:
            raise ValueError(
                f'{_where(i, image)} repeats record {seen[identity]}: the '
                'same person of the same image is listed twice'
            )
        seen[identity] = i
        if image in first_record and layout == 'per_person':
            j = first_record[image]
            a = records[j].get('annolist_index')
            b = record.get('annolist_index')
            if a != b:
                raise ValueError(
                    f'image {image!r} is listed twice: records {j} and {i} '
                    f'have annolist_index {a} and {b}'
                )
        first_record.setdefault(image, i)
        people.setdefault(image, []).append(person)
        extra.setdefault(image, []).append(False)
        is_val[image] = is_val.get(image, False) or bool(
            record.get('isValidation', 0)
        )

    if layout == 'per_person':
        for i, record in enumerate(records):
            image = record['img_paths']
            known = {tuple(p['center']) for p in people[image]}
            for xy, labelled, center, scale in _others(
                record, _where(i, image)
            ):
                key = tuple(center)
                if np.isfinite(center).all() and key in known:
                    continue
                known.add(key)
                people[image].append(
                    _person(xy, labelled, center, scale, np.full(4, np.nan), i)
                )
                extra[image].append(True)
        stale = sum(
            _drop_stale_joints(people[image], extra[image]) for image in people
        )
        if stale:
            warnings.warn(
                f'{stale} joints of people listed only in `joint_others` '
                "repeat another person's same joint exactly and were "
                'dropped as stale copies',
                stacklevel=2,
            )

    images = [
        image
        for image in people
        if subset is None or is_val[image] == (subset == 'val')
    ]
    unlabelled = [
        p['record']
        for image in images
        for p in people[image]
        if not p['labelled'].any()
    ]
    if unlabelled:
        warnings.warn(
            f'{len(unlabelled)} people have no labelled joint (records '
            f'{unlabelled[:10]}{" ..." if len(unlabelled) > 10 else ""}); '
            'they stay in their image unlabelled: the dataset masks their '
            'center/scale box out of the heatmap loss and they add no '
            'ground-truth joint to the evaluation',
            stacklevel=2,
        )
    return [_image_entry(image, people[image]) for image in images]
