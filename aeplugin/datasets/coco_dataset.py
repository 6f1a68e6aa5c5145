"""mmpose's COCO keypoint dataset with its annotations and images checked
when it loads, so that bad data stops a run at its start, not days in."""

import logging
import os.path as osp
from collections import Counter
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from mmengine.logging import print_log
from mmpose.datasets import CocoDataset as MMPoseCocoDataset

from aeplugin.registry import DATASETS

from .metainfo_checks import metainfo_source, parse_checked_metainfo

BAD_IMAGE_MODES = ('error', 'skip')
# kinds of data the dataset changes or leaves out, with what it does
ISSUES = {
    'keypoints_outside_image': 'labelled keypoints outside the image were '
    'set unlabelled',
    'people_without_keypoints': 'people without labelled keypoints are '
    'masked out of the loss (as crowds)',
    'crowd_only_images': 'images with only crowd regions are kept as '
    'background with the crowds masked',
    'images_without_people': 'images without people are not used for training',
    'bad_images_skipped': 'images that cannot be read were left out '
    "(bad_images='skip')",
}
_EXAMPLES = 3
_JPEG_END_WINDOW = 1024


def image_file_problem(path: str) -> Optional[str]:
    """Why the image file at ``path`` cannot be read, or ``None``.

    Reads only the first and the last bytes: a missing or empty file, a JPEG
    without its end-of-image marker or a PNG without its ``IEND`` chunk (a
    copy or a download cut short) are found without decoding.

    Args:
        path (str): A local image file

    Returns:
        str | None: The problem, or ``None``
    """
    if not osp.isfile(path):
        return 'is missing'
    size = osp.getsize(path)
    if size == 0:
        return 'is empty (0 bytes)'
    with open(path, 'rb') as f:
        head = f.read(8)
        f.seek(max(0, size - _JPEG_END_WINDOW))
        tail = f.read()
    if head.startswith(b'\xff\xd8') and b'\xff\xd9' not in tail:
        return 'is a truncated JPEG (no end-of-image marker)'
    if head.startswith(b'\x89PNG') and b'IEND' not in tail[-12:]:
        return 'is a truncated PNG (no IEND chunk)'
    return None


def _with_sample(err: Exception, sample: str) -> Exception:
    """``err`` with ``sample`` in its message, of the same type where the
    type takes a message (as mmpose's ``LoadImage`` does)."""
    message = f'{sample}: {type(err).__name__}: {err}'
    try:
        return type(err)(message)
    except Exception:
        return RuntimeError(message)


@DATASETS.register_module()
class CocoDataset(MMPoseCocoDataset):
    """COCO keypoints (mmpose's ``CocoDataset``) that check their data.

    Shadows mmpose's dataset of the same name in the ``aeplugin`` scope
    (``type='mmpose.CocoDataset'`` still reaches theirs). When it loads:

    - a metainfo whose fields contradict one another (flip pairs that
      pair no keypoints, ``sigmas`` or ``joint_weights`` of another length
      than ``keypoint_info``, a ``swap`` or ``link`` naming no keypoint,
      ids other than 0..K-1) raises ``ValueError`` naming the metainfo
      file and the field (:func:`parse_checked_metainfo`);
    - a file that is not COCO (no ``images``, ``annotations`` or
      ``categories``; annotations of images it does not list), an
      annotation without ``keypoints`` or ``bbox``, keypoints of another
      length than 3 x the metainfo's ``num_keypoints``, NaN or infinite
      keypoints or boxes, and images without a positive size raise
      ``ValueError`` naming the file, the annotation id, the image and the
      field (mmpose skips some of these silently, reshapes others into
      another number of keypoints, or fails deep in numpy);
    - image files are checked (``check_images``): missing, empty, or a JPEG
      or PNG cut short raise ``ValueError`` listing them, or with
      ``bad_images='skip'`` are left out with a warning and a count;
    - labelled keypoints outside the image (negative coordinates included)
      are set unlabelled; people without labelled keypoints are masked out
      of the loss and images with only crowd regions kept as background (as
      mmpose does); images without people are not used for training (as
      mmpose does; evaluated in test mode). Each is counted in
      :attr:`issues` and the counts are logged as one warning.

    When it serves a sample, any error of the pipeline is raised again with
    the sample's index, image id and path in its message (also from a
    data loader worker), and a pipeline that returns ``None`` raises
    instead of mmengine's silent swap for a random other sample.

    Args:
        bad_images (str): ``'error'`` (default) or ``'skip'``
        check_images (bool): Check the image files when loading (reads the
            first and the last bytes of each; local files only). Defaults
            to ``True``
        *args, **kwargs: The arguments of mmpose's ``CocoDataset``

    Attributes:
        issues (Counter): Counts of :data:`ISSUES` found when loading
    """

    def __init__(
        self,
        *args,
        bad_images: str = 'error',
        check_images: bool = True,
        **kwargs,
    ):
        if bad_images not in BAD_IMAGE_MODES:
            raise ValueError(
                f'bad_images must be one of {BAD_IMAGE_MODES}, got '
                f'{bad_images!r}'
            )
        self.bad_images = bad_images
        self.check_images = check_images
        self.issues: Counter = Counter()
        self._examples: Dict[str, List[str]] = {}
        super().__init__(*args, **kwargs)

    @classmethod
    def _load_metainfo(cls, metainfo: Optional[dict] = None) -> dict:
        # mmpose's parse, with what it lets through (flip pairs that are no
        # pairing, sigmas or weights of another length, ...) refused
        if metainfo is not None and not isinstance(metainfo, dict):
            raise TypeError(f'metainfo must be a dict, got {type(metainfo)}')
        chosen = cls.METAINFO if metainfo is None else metainfo
        if not chosen:
            return {}
        return parse_checked_metainfo(
            dict(chosen), metainfo_source(metainfo, cls.METAINFO)
        )

    def _note(self, issue: str, count: int, example: str) -> None:
        self.issues[issue] += count
        examples = self._examples.setdefault(issue, [])
        if len(examples) < _EXAMPLES:
            examples.append(example)

    def load_data_list(self) -> List[dict]:
        self.issues.clear()
        self._examples.clear()
        data_list = super().load_data_list()
        if self.check_images:
            data_list = self._drop_bad_images(data_list)
        self._log_issues()
        return data_list

    def _load_annotations(self) -> Tuple[List[dict], List[dict]]:
        if '://' not in self.ann_file and not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'annotation file {self.ann_file} does not exist'
            )
        try:
            instance_list, image_list = super()._load_annotations()
        except (AssertionError, TypeError, ValueError) as err:
            if isinstance(err, ValueError) and self.ann_file in str(err):
                raise
            raise ValueError(
                f'{self.ann_file} is not a COCO annotation file: {err}'
            ) from err
        dataset = self.coco.dataset
        missing = [
            k
            for k in ('images', 'annotations', 'categories')
            if k not in dataset
        ]
        if missing:
            raise ValueError(
                f'{self.ann_file} is not a COCO keypoint annotation file: '
                f'it has no {missing} (its keys: {sorted(dataset)})'
            )
        image_ids = {img['id'] for img in dataset['images']}
        orphans = sorted(
            {a['image_id'] for a in dataset['annotations']} - image_ids
        )
        if orphans:
            raise ValueError(
                f'{self.ann_file}: annotations refer to {len(orphans)} image '
                f'ids missing from `images` (e.g. {orphans[:_EXAMPLES]})'
            )

        by_image: Dict[Any, List[dict]] = {}
        for instance in instance_list:
            by_image.setdefault(instance['img_id'], []).append(instance)
        for img in image_list:
            instances = by_image.get(img['img_id'], [])
            if not instances:
                self._note('images_without_people', 1, img['file_name'])
            elif all(i['iscrowd'] for i in instances):
                self._note('crowd_only_images', 1, img['file_name'])
        if self.test_mode:
            # mmpose evaluates them; training leaves them out
            self.issues.pop('images_without_people', None)
        return instance_list, image_list

    def parse_data_info(self, raw_data_info: dict) -> Optional[dict]:
        ann = dict(raw_data_info['raw_ann_info'])
        img = raw_data_info['raw_img_info']
        where = (
            f'{self.ann_file}: annotation id {ann.get("id")} of image '
            f'{img.get("file_name")}'
        )
        width, height = img.get('width'), img.get('height')
        if not all(
            isinstance(v, (int, float)) and v > 0 for v in (width, height)
        ):
            raise ValueError(
                f'{where}: the image needs a positive `width` and `height`, '
                f'got {width!r} x {height!r}'
            )
        for field in ('keypoints', 'bbox'):
            if field not in ann:
                raise ValueError(f'{where} has no `{field}`')
        bbox = np.asarray(ann['bbox'], dtype=np.float64)
        if bbox.shape != (4,) or not np.isfinite(bbox).all():
            raise ValueError(
                f'{where}: `bbox` must be 4 finite numbers [x, y, w, h], '
                f'got {ann["bbox"]!r}'
            )

        num_keypoints = self.metainfo['num_keypoints']
        values = ann['keypoints']
        if not isinstance(values, (list, tuple)) or (
            len(values) != 3 * num_keypoints
        ):
            size = len(values) if isinstance(values, (list, tuple)) else '?'
            raise ValueError(
                f'{where}: `keypoints` has {size} values, expected 3 x '
                f'{num_keypoints} (num_keypoints of the dataset metainfo '
                f'{self.metainfo.get("dataset_name")!r}): annotations and '
                'metainfo are of different keypoint sets'
            )
        try:
            keypoints = np.asarray(values, dtype=np.float64).reshape(-1, 3)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f'{where}: `keypoints` must be numbers: {err}'
            ) from err
        nonfinite = np.flatnonzero(~np.isfinite(keypoints).all(axis=1))
        if nonfinite.size:
            raise ValueError(
                f'{where}: `keypoints` has NaN or infinite values at '
                f'keypoints {nonfinite.tolist()}'
            )

        x, y, visible = keypoints.T
        labelled = visible > 0
        outside = labelled & ((x < 0) | (y < 0) | (x > width) | (y > height))
        if outside.any():
            self._note(
                'keypoints_outside_image',
                int(outside.sum()),
                f'annotation {ann.get("id")} keypoints '
                f'{np.flatnonzero(outside).tolist()} ({img.get("file_name")}, '
                f'{width} x {height})',
            )
            keypoints[outside, 2] = 0
            labelled &= ~outside
            ann['keypoints'] = keypoints.reshape(-1).tolist()
            ann['num_keypoints'] = int(labelled.sum())
        if not ann.get('iscrowd', 0) and not labelled.any():
            self._note(
                'people_without_keypoints',
                1,
                f'annotation {ann.get("id")} ({img.get("file_name")})',
            )
        return super().parse_data_info(dict(raw_data_info, raw_ann_info=ann))

    def _drop_bad_images(self, data_list: List[dict]) -> List[dict]:
        bad = {}
        for info in data_list:
            path = info['img_path']
            if path in bad or '://' in path:
                continue
            problem = image_file_problem(path)
            if problem is not None:
                bad[path] = problem
        if not bad:
            return data_list
        listed = '; '.join(f'{p} {why}' for p, why in list(bad.items())[:10])
        if self.bad_images == 'error':
            raise ValueError(
                f'{len(bad)} image files of {self.ann_file} cannot be read: '
                f'{listed}{" ..." if len(bad) > 10 else ""}. Restore them, '
                "or set bad_images='skip' in the dataset config to leave "
                'them out'
            )
        for path, problem in bad.items():
            self._note('bad_images_skipped', 1, f'{path} {problem}')
        return [info for info in data_list if info['img_path'] not in bad]

    def _log_issues(self) -> None:
        if not self.issues:
            return
        lines = [
            f'{count} {ISSUES[issue]} (e.g. '
            f'{"; ".join(self._examples.get(issue, []))})'
            for issue, count in sorted(self.issues.items())
        ]
        print_log(
            f'{type(self).__name__} {self.ann_file}:\n  ' + '\n  '.join(lines),
            logger='current',
            level=logging.WARNING,
        )

    def prepare_data(self, idx) -> Any:
        try:
            data = super().prepare_data(idx)
        except Exception as err:
            raise _with_sample(err, self._describe(idx)) from err
        if data is None:
            raise ValueError(
                f'{self._describe(idx)}: the pipeline returned None (a '
                'transform dropped the sample; mmengine would silently '
                'train on a random other sample instead)'
            )
        return data

    def _describe(self, idx) -> str:
        info = self.get_data_info(idx)
        return (
            f'sample {idx} of {type(self).__name__} (image id '
            f'{info.get("img_id")}, {info.get("img_path")})'
        )
