"""Convert the official MPII annotations (mpii_human_pose_v1_u12_1.mat) to
the MPII JSON that mmpose and ``MpiiMultiPersonDataset`` read, one record
per person, every person of an image, with its head box.

Each person rectangle (``RELEASE.annolist(i).annorect(r)``) becomes::

    {"image": "015601864.jpg",
     "joints": [[x, y], ... 16],      # MPII order, [-1, -1] if unlabelled
     "joints_vis": [1, 0, ... 16],    # 1 = labelled (occluded included)
     "center": [x, y],                # objpos, [-1, -1] if absent
     "scale": s,                      # person height / 200, -1 if absent
     "head_box": [x1, y1, x2, y2]}    # only where the .mat has x1..y2

``joints_vis`` follows mmpose's MPII files: a joint is 1 when it is
annotated, whatever its ``is_visible`` flag (0 marks an occluded joint).
Coordinates are copied as they are. A rectangle without joints is kept
(all ``joints_vis`` 0) when it has a center and scale, so training can mask
the person out; one without either is skipped.

Usage::

    python tools/dataset_converters/mpii_mat_to_json.py MAT OUT_JSON \
        [--split train|test|all] [--only-images JSON] [--skip-images JSON]

``--only-images`` / ``--skip-images`` keep or drop the images named in
another MPII JSON of either layout (``image`` or ``img_paths`` fields), e.g.
mmpose's ``mpii_val.json`` to split off its validation images.
"""

import argparse
import json
from typing import Dict, Iterable, List, Optional, Set

import numpy as np
from scipy.io import loadmat
from scipy.io.matlab import mat_struct

NUM_JOINTS = 16


def _items(value) -> list:
    """The structs of a MATLAB struct array / cell, squeezed or not."""
    if isinstance(value, mat_struct):
        return [value]
    if isinstance(value, np.ndarray):
        return [v for v in value.ravel() if isinstance(v, mat_struct)]
    return []


def _number(value) -> Optional[float]:
    """A MATLAB scalar (number or numeric string); None when empty."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.item()
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    if value is None:
        return None
    return float(value)


def _field(struct, name: str):
    return getattr(struct, name, None)


def _person(rect, where: str) -> Optional[Dict]:
    joints = np.full((NUM_JOINTS, 2), -1.0)
    joints_vis = np.zeros(NUM_JOINTS, dtype=np.int64)
    annopoints = _items(_field(rect, 'annopoints'))
    points = _items(_field(annopoints[0], 'point')) if annopoints else []
    for point in points:
        joint_id = _number(_field(point, 'id'))
        if joint_id is None or not 0 <= joint_id < NUM_JOINTS:
            raise ValueError(
                f'{where}: point id must be in 0..{NUM_JOINTS - 1}, got '
                f'{_field(point, "id")!r}'
            )
        x, y = _number(_field(point, 'x')), _number(_field(point, 'y'))
        if x is None or y is None:
            raise ValueError(f'{where}: point {int(joint_id)} has no x or y')
        joints[int(joint_id)] = (x, y)
        joints_vis[int(joint_id)] = 1

    objpos = _items(_field(rect, 'objpos'))
    center = (
        [_number(_field(objpos[0], 'x')), _number(_field(objpos[0], 'y'))]
        if objpos
        else [None, None]
    )
    scale = _number(_field(rect, 'scale'))
    if not joints_vis.any() and (None in center or scale is None):
        return None

    person = dict(
        joints=joints.tolist(),
        joints_vis=joints_vis.tolist(),
        center=[-1.0, -1.0] if None in center else center,
        scale=-1.0 if scale is None else scale,
    )
    head_box = [_number(_field(rect, k)) for k in ('x1', 'y1', 'x2', 'y2')]
    if None not in head_box:
        person['head_box'] = head_box
    return person


def image_names(ann_file: str) -> Set[str]:
    """The image names of an MPII JSON of either layout."""
    with open(ann_file) as f:
        records = json.load(f)
    return {r.get('image', r.get('img_paths')) for r in records}


def convert_mpii_mat(
    mat_file: str,
    split: str = 'train',
    only_images: Optional[Iterable[str]] = None,
    skip_images: Iterable[str] = (),
) -> List[Dict]:
    """Person records of the official MPII .mat.

    Args:
        mat_file (str): mpii_human_pose_v1_u12_1.mat (``RELEASE``)
        split (str): ``'train'`` (``img_train`` 1), ``'test'`` (0) or
            ``'all'``. Defaults to ``'train'``
        only_images (Iterable[str], optional): Keep only these image names
        skip_images (Iterable[str]): Drop these image names

    Returns:
        List[dict]: One record per person, as in the module docstring
    """
    if split not in ('train', 'test', 'all'):
        raise ValueError(
            f"split must be 'train', 'test' or 'all', got {split}"
        )
    release = loadmat(mat_file, struct_as_record=False, squeeze_me=True)[
        'RELEASE'
    ]
    annolist = _items(release.annolist)
    img_train = np.atleast_1d(np.asarray(release.img_train)).ravel()
    if len(img_train) != len(annolist):
        raise ValueError(
            f'RELEASE.img_train has {len(img_train)} entries but '
            f'RELEASE.annolist {len(annolist)}'
        )
    only = None if only_images is None else set(only_images)
    skip = set(skip_images)
    records = []
    for i, (entry, is_train) in enumerate(zip(annolist, img_train)):
        if split != 'all' and bool(is_train) != (split == 'train'):
            continue
        name = str(entry.image.name)
        if name in skip or (only is not None and name not in only):
            continue
        for r, rect in enumerate(_items(_field(entry, 'annorect'))):
            person = _person(rect, f'annolist({i + 1}).annorect({r + 1})')
            if person is not None:
                records.append(dict(image=name, **person))
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert mpii_human_pose_v1_u12_1.mat to MPII JSON (one '
        'record per person, head boxes included)'
    )
    parser.add_argument('mat', help='the official MPII annotation .mat')
    parser.add_argument('out', help='JSON file to write')
    parser.add_argument(
        '--split', default='train', choices=('train', 'test', 'all')
    )
    parser.add_argument(
        '--only-images', help='keep only the images of this MPII JSON'
    )
    parser.add_argument(
        '--skip-images', help='drop the images of this MPII JSON'
    )
    args = parser.parse_args(argv)
    records = convert_mpii_mat(
        args.mat,
        args.split,
        image_names(args.only_images) if args.only_images else None,
        image_names(args.skip_images) if args.skip_images else (),
    )
    with open(args.out, 'w') as f:
        json.dump(records, f)
    labelled = sum(any(r['joints_vis']) for r in records)
    print(
        f'{len(records)} people ({labelled} with joints) on '
        f'{len({r["image"] for r in records})} images -> {args.out}'
    )


if __name__ == '__main__':
    main()
