"""Evaluation in batches gives the predictions and the AP of batch 1: the
tiny random model on the shipped images through tools/test.py, with the
'expand' resize (images of several input shapes) and 'fit', flip and
multi-scale test, in one process and over two (gloo).

oneDNN's convolutions round differently at another batch size (1e-8), which
moves a random model's keypoints that sit on flat maxima (ties, see
``compare_predictions``); with it off, PyTorch's own convolutions give each
image bitwise the maps of batch 1, and the comparison is exact: these
tests turn it off (in the workers of the distributed run through
``no_onednn_site/sitecustomize.py``)."""

import pickle
from pathlib import Path

import pytest
import torch
from test_apis.tiny_model import save_random_checkpoint, write_tiny_config

from tools.benchmark.batched_eval import (
    coco_mini_options,
    compare_predictions,
    evaluate,
)

from .distributed_runs import Run, dist_tool

# first on the workers' PYTHONPATH, turns oneDNN off in each
NO_ONEDNN_SITE = str(Path(__file__).with_name('no_onednn_site'))


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp('tiny')
    config = write_tiny_config(folder)
    return config, save_random_checkpoint(config, folder / 'tiny.pth')


def _resize(mode):
    return [f'test_dataloader.dataset.pipeline.1.resize_mode={mode}']


def _batch_1_and_4(tiny, tmp_path, flags, options):
    config, checkpoint = tiny
    with torch.backends.mkldnn.flags(enabled=False):
        return [
            evaluate(
                config,
                checkpoint,
                batch_size,
                tmp_path / str(batch_size),
                flags,
                options,
            )
            for batch_size in (1, 4)
        ]


def _assert_exactly_as_batch_1(one, batched):
    """The same metrics, people and scores, every keypoint scored at least
    0.1 within 0.05 px (here: at 0)."""
    assert batched.get('metrics', one['metrics']) == one['metrics']
    same = compare_predictions(one['predictions'], batched['predictions'])
    assert same['same_images'] and same['same_people'], same
    assert same['max_px'] == 0 and same['max_score_diff'] == 0, same
    # the random model finds people, with keypoints above 0.1
    assert same['keypoints'] >= 3 * len(one['predictions']), same


@pytest.mark.slow
@pytest.mark.parametrize('mode', ['expand', 'fit'])
@pytest.mark.parametrize(
    'flags', [['--tta', 'flip'], ['--tta', 'multiscale']], ids=['flip', 'ms']
)
def test_batch_4_predicts_as_batch_1(tiny, tmp_path, mode, flags):
    one, batched = _batch_1_and_4(tiny, tmp_path, flags, _resize(mode))
    _assert_exactly_as_batch_1(one, batched)
    # 'expand' gives the 4 test images two shapes (3 + 1); its pyramid
    # sizes scale 0.5 first, at 64x128 for all four, so has one
    shapes = {p['img_shape'] for p in batched['predictions']}
    expand_flip = mode == 'expand' and flags[1] == 'flip'
    assert len(shapes) == (2 if expand_flip else 1)


@pytest.mark.slow
@pytest.mark.parametrize(
    'flags', [['--tta', 'flip'], ['--tta', 'multiscale']], ids=['flip', 'ms']
)
def test_coco_mini_in_batches_of_4_predicts_as_batch_1(tiny, tmp_path, flags):
    """28 images of several input shapes (portrait, landscape, wider):
    full and partial batches of each."""
    options = coco_mini_options() + _resize('expand')
    one, batched = _batch_1_and_4(tiny, tmp_path, flags, options)
    _assert_exactly_as_batch_1(one, batched)
    assert len(batched['predictions']) == 28
    assert len({p['img_shape'] for p in batched['predictions']}) >= 2


@pytest.mark.slow
def test_two_processes_in_batches_gather_each_image_once(tiny, tmp_path):
    """Each image once, in dataset order, predicted as at batch 1."""
    config, checkpoint = tiny
    # 13 images: an odd number over 2 ranks, several shapes on each
    options = [
        *coco_mini_options(),
        *_resize('expand'),
        'test_dataloader.dataset.indices=13',
    ]
    two = tmp_path / 'two.pkl'
    distributed = Run(
        dist_tool(
            'test',
            str(config),
            str(checkpoint),
            '2',
            '--work-dir',
            str(tmp_path / 'two'),
            '--dump',
            str(two),
            '--cfg-options',
            *options,
            'test_dataloader.batch_size=4',
        ),
        work_dir=tmp_path / 'two',
        env=dict(PYTHONPATH=NO_ONEDNN_SITE),
    )
    try:
        # batch 1 in this process while the two run
        with torch.backends.mkldnn.flags(enabled=False):
            single = evaluate(
                config, checkpoint, 1, tmp_path / 'one', (), options
            )
        log_two = distributed.finish()
    finally:
        distributed.stop()

    assert 'Distributed launcher: pytorch' in log_two
    preds_two = pickle.loads(two.read_bytes())
    ids = [p['img_id'] for p in preds_two]
    # once each, in dataset order (tools/test.py sorts the --dump file)
    assert len(ids) == len(set(ids)) == 13
    assert ids == [p['img_id'] for p in single['predictions']]
    _assert_exactly_as_batch_1(single, dict(predictions=preds_two))
    ap = f'| coco/AP | {single["metrics"]["coco/AP"]:.4f} |'
    assert ap in log_two
