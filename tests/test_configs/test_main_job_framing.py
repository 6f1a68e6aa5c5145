"""The main job trains on what it is evaluated on: every labelled keypoint
of every shipped image reaches the training input, at the scale of the
evaluation's resize. (With mmpose's defaults for a non-square input, a
portrait image was trained on a centre crop of half its height, at twice
the scale of a landscape one.)"""

from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from aeplugin.registry import DATASETS, TRANSFORMS

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / 'configs' / 'ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py'


def _dataset(cfg, loader):
    dataset_cfg = cfg[loader].dataset
    dataset_cfg.data_root = str(ROOT / dataset_cfg.data_root)
    dataset_cfg.pipeline = []
    return DATASETS.build(dataset_cfg)


@pytest.fixture(scope='module')
def framed():
    cfg = Config.fromfile(CONFIG)
    with DefaultScope.overwrite_default_scope('aeplugin'):
        load, affine = (
            TRANSFORMS.build(t)
            for t in cfg.train_dataloader.dataset.pipeline[:2]
        )
        resize = TRANSFORMS.build(cfg.val_dataloader.dataset.pipeline[1])
        train = _dataset(cfg, 'train_dataloader')
        val = _dataset(cfg, 'val_dataloader')
    rows = []
    for index in range(len(train)):
        info = train.get_data_info(index)
        labelled = int((info['keypoints_visible'] > 0).sum())
        warped = affine(load(info))
        train_scale = np.sqrt(abs(np.linalg.det(warped['warp_mat'][:, :2])))
        resized = resize(load(val.get_data_info(index)))
        val_scale = resized['input_size'][0] / resized['input_scale'][0]
        kept = int((warped['keypoints_visible'] > 0).sum())
        rows.append((info['img_path'], labelled, kept, train_scale, val_scale))
    return rows


def test_every_labelled_keypoint_reaches_the_training_input(framed):
    lost = [(path, n, kept) for path, n, kept, _, _ in framed if kept != n]
    assert not lost, f'(image, labelled, kept): {lost}'
    assert sum(n for _, n, _, _, _ in framed) == 800


def test_training_scale_is_the_evaluation_scale(framed):
    for path, _, _, train_scale, val_scale in framed:
        assert train_scale == pytest.approx(val_scale, rel=2e-3), path
    # portrait and landscape images both present
    assert len({round(s, 2) for *_, s in framed}) > 2
