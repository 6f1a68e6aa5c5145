"""Checks of a keypoint dataset's metainfo (mmpose's ``dataset_info``
files), so that a metainfo file of another keypoint set or with a typo
fails when the dataset loads, naming the file and the field."""

import os.path as osp
from typing import Optional

import numpy as np
from mmengine.config import Config
from mmpose.datasets.datasets.utils import parse_pose_metainfo

REQUIRED_FIELDS = (
    'dataset_name',
    'keypoint_info',
    'skeleton_info',
    'joint_weights',
    'sigmas',
)


def metainfo_source(metainfo: Optional[dict], default: Optional[dict]) -> str:
    """Where a dataset's metainfo comes from, for messages: its
    ``from_file``, or the dict given to the dataset.

    Args:
        metainfo (dict, optional): The ``metainfo`` argument of the dataset
        default (dict, optional): The dataset class's ``METAINFO``, used
            when ``metainfo`` is ``None``
    """
    chosen = default if metainfo is None else metainfo
    if isinstance(chosen, dict) and 'from_file' in chosen:
        return f'metainfo file {chosen["from_file"]}'
    return 'the metainfo dict given to the dataset'


def parse_checked_metainfo(metainfo: dict, source: str) -> dict:
    """mmpose's ``parse_pose_metainfo``, with its errors and the
    contradictions it lets through raised as ``ValueError`` naming
    ``source`` and the field.

    Checked: ``keypoint_info`` ids are 0..K-1; every ``swap`` and
    ``skeleton_info`` ``link`` names a keypoint of ``keypoint_info``; the
    flip pairs (the ``swap`` names) pair each keypoint with one other both
    ways or with itself; ``sigmas`` and ``joint_weights`` hold K values.

    Note:
        - keypoint number: K (the entries of ``keypoint_info``)

    Args:
        metainfo (dict): mmpose metainfo: ``dict(from_file=...)`` or the
            ``dataset_info`` dict of such a file
        source (str): Where it comes from (see :func:`metainfo_source`)

    Returns:
        dict: The parsed metainfo (``num_keypoints``, ``flip_indices``
        (K, ), ``sigmas`` (K, ), ``dataset_keypoint_weights`` (K, ), ...)

    Raises:
        ValueError: A field is missing or contradicts ``keypoint_info``
    """
    raw = metainfo
    if 'from_file' in metainfo:
        # a missing file is mmpose's to resolve (it looks in its package
        # for its own files, or raises FileNotFoundError)
        raw = None
        if osp.isfile(metainfo['from_file']):
            raw = Config.fromfile(metainfo['from_file']).get('dataset_info')
            if not isinstance(raw, dict):
                raise ValueError(f'{source}: no `dataset_info` dict')
    if raw is not None:
        missing = [k for k in REQUIRED_FIELDS if k not in raw]
        if missing:
            raise ValueError(
                f'{source}: no {missing} (a pose metainfo needs '
                f'{list(REQUIRED_FIELDS)})'
            )
        names = {info.get('name') for info in raw['keypoint_info'].values()}
        for i, info in raw['keypoint_info'].items():
            swap = info.get('swap', '')
            if swap and swap not in names:
                raise ValueError(
                    f'{source}: keypoint_info[{i}] ({info.get("name")!r}) '
                    f'swaps with {swap!r}, which is not a keypoint of '
                    f'keypoint_info ({sorted(names)})'
                )
        for i, info in raw['skeleton_info'].items():
            unknown = [n for n in info.get('link', ()) if n not in names]
            if unknown:
                raise ValueError(
                    f'{source}: skeleton_info[{i}] links {unknown}, not '
                    f'keypoints of keypoint_info ({sorted(names)})'
                )
    try:
        parsed = parse_pose_metainfo(dict(metainfo))
    except (AssertionError, KeyError, TypeError, ValueError) as err:
        raise ValueError(
            f'{source} is not a pose metainfo: {type(err).__name__}: {err}'
        ) from err

    K = parsed['num_keypoints']
    ids = sorted(parsed['keypoint_id2name'])
    if ids != list(range(K)):
        raise ValueError(
            f'{source}: keypoint_info ids must be 0..{K - 1} (the order of '
            f"the annotations' keypoints), got {ids}"
        )
    flip = np.asarray(parsed['flip_indices'])
    if (
        sorted(flip.tolist()) != list(range(K))
        or (flip[flip] != np.arange(K)).any()
    ):
        raise ValueError(
            f'{source}: the flip pairs (keypoint_info swap) must pair each '
            f'keypoint with one other, both ways, or with itself; they map '
            f'keypoints 0..{K - 1} to {flip.tolist()}'
        )
    for field, values in (
        ('sigmas', parsed['sigmas']),
        ('joint_weights', parsed['dataset_keypoint_weights']),
    ):
        values = np.asarray(values)
        if values.shape != (K,):
            raise ValueError(
                f'{source}: {field} has {values.size} values for {K} '
                'keypoints (keypoint_info)'
            )
    return parsed
