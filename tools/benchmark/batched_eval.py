"""Evaluation in batches: images/s of tools/test.py at each batch size, and
the predictions of every batch size against those of the first.

    python tools/benchmark/batched_eval.py [CONFIG] [--checkpoint CKPT]
        [--input-size 256] [--batch-sizes 1 8 1 8] [--weights init|random]
        [--tta flip] [--data-root data/coco-mini/] [--threads N] [--out FILE]

Runs tools/test.py's evaluation (its config merging, test-time options and
``--dump`` file, in this process) once per batch size on the shipped
``data/coco-mini`` images, by default with the paper config
(``configs/ae_hourglass-4stack_8xb6-300e_coco-512x512.py``) at a 256 input
and untrained weights (a speed figure, and a check that batches change no
prediction; COCO AP about 0): the config's initialisation (``--weights
init``: no person found, the network's cost) or ``randomize_weights_``
(``--weights random``: 30 people per image, grouping included).
Images/s counts the test loop from its start to its last iteration (data
loading, preprocessing, network, grouping; not start-up or evaluation); the
step figure only the test steps; images per CPU second divide by the CPU
time of the process (its torch threads) instead, which other jobs on a
shared machine change less.
"""

import sys
import tempfile
import time
from pathlib import Path
from typing import List, Sequence

import mmengine
import numpy as np
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

if not __package__:  # run as a script: import tools.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools import test as test_tool  # noqa: E402
from tools.benchmark import common  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PAPER_CONFIG = ROOT / 'configs/ae_hourglass-4stack_8xb6-300e_coco-512x512.py'
COCO_MINI = 'data/coco-mini/'
COCO_MINI_ANN = 'annotations/person_keypoints_train2017.json'
WEIGHTS = ('init', 'random')


class LoopTimer(Hook):
    """Wall time of the test loop (first batch requested to last step
    done) and of its steps, the CPU time of this process (all its threads;
    not the data loader's workers) over the loop, and the images it ran."""

    def __init__(self):
        self.images, self.step_s = 0, 0.0

    def before_test_epoch(self, runner):
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()

    def before_test_iter(self, runner, batch_idx, data_batch=None):
        self._step_start = time.perf_counter()

    def after_test_iter(
        self, runner, batch_idx, data_batch=None, outputs=None
    ):
        self.end = time.perf_counter()
        self.cpu_end = time.process_time()
        self.step_s += self.end - self._step_start
        self.images += len(outputs)


def coco_mini_options(data_root: str = COCO_MINI) -> List[str]:
    """``--cfg-options`` evaluating a COCO config on ``data/coco-mini``."""
    return [
        f'test_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.ann_file={COCO_MINI_ANN}',
        'test_dataloader.dataset.data_prefix.img=train2017/',
        f'test_evaluator.ann_file={data_root}{COCO_MINI_ANN}',
    ]


def input_size_options(size: int, restore: bool = True) -> List[str]:
    """``--cfg-options`` giving the paper config a square ``size`` input
    (its test pipeline's resize is step 1); the decoder's heatmaps are the
    input size with ``restore`` (restore_heatmap_size), else a quarter."""
    heatmap = size if restore else size // 4
    return [
        f'test_dataloader.dataset.pipeline.1.input_size=({size},{size})',
        f'model.head.decoder.input_size=({size},{size})',
        f'model.head.decoder.heatmap_size=({heatmap},{heatmap})',
    ]


def random_checkpoint(
    config,
    path,
    cfg_options: Sequence[str] = (),
    weights: str = 'init',
    seed: int = 0,
) -> Path:
    """Save untrained weights of ``config``'s model, after ``cfg_options``,
    to ``path``: ``'init'``, the config's initialisation (outputs near 0:
    no keypoint above the decoder's threshold, so the network's cost
    without grouping work); ``'random'``, ``randomize_weights_`` (O(1)
    outputs: the most people on every image, so the cost of grouping them
    too)."""
    from aeplugin.registry import MODELS
    from aeplugin.testing import randomize_weights_

    if weights not in WEIGHTS:
        raise ValueError(f'weights must be one of {WEIGHTS}, got {weights}')
    options = ['--cfg-options', *cfg_options] if cfg_options else []
    args = test_tool.parse_args([str(config), 'none.pth', *options])
    cfg = test_tool.merge_args(Config.fromfile(config), args)
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('aeplugin'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    if weights == 'random':
        randomize_weights_(model, seed)
    torch.save(dict(state_dict=model.state_dict()), path)
    return Path(path)


def evaluate(
    config,
    checkpoint,
    batch_size: int,
    work_dir,
    flags: Sequence[str] = (),
    cfg_options: Sequence[str] = (),
) -> dict:
    """Evaluate as ``tools/test.py CONFIG CHECKPOINT FLAGS --dump ...
    --cfg-options CFG_OPTIONS test_dataloader.batch_size=BATCH_SIZE``.

    Returns:
        dict: ``metrics``; ``predictions``, the ``--dump`` file (in dataset
        order); ``images``; ``loop_s``, ``step_s`` and ``cpu_s``
        (:class:`LoopTimer`)
    """
    out = Path(work_dir) / f'batch{batch_size}.pkl'
    args = test_tool.parse_args(
        [
            str(config),
            str(checkpoint),
            *flags,
            '--work-dir',
            str(work_dir),
            '--dump',
            str(out),
            '--cfg-options',
            *cfg_options,
            f'test_dataloader.batch_size={batch_size}',
            'log_level=WARNING',
        ]
    )
    cfg = test_tool.merge_args(Config.fromfile(config), args)
    cfg.experiment_name = f'batch{batch_size}_{time.strftime("%H%M%S")}'
    runner = Runner.from_cfg(cfg)
    timer = LoopTimer()
    runner.register_hook(timer, priority='LOWEST')
    metrics = runner.test()
    test_tool.put_in_dataset_order(str(out), runner.test_dataloader.dataset)
    return dict(
        metrics=metrics,
        predictions=mmengine.load(out),
        images=timer.images,
        loop_s=timer.end - timer.start,
        step_s=timer.step_s,
        cpu_s=timer.cpu_end - timer.cpu_start,
    )


def compare_predictions(
    reference: Sequence[dict],
    other: Sequence[dict],
    score_thr: float = 0.1,
    max_px: float = 0.05,
) -> dict:
    """Compare two ``--dump`` files image by image, keypoint by keypoint.

    Note that CPU convolutions (oneDNN) sum in another order at another
    batch size, so the maps of an image differ by rounding (about 1e-8);
    where a map is flat (e.g. the constant padding around an image) its
    maximum is a tie between pixels of equal score, which such rounding
    can break another way: the keypoint moves, its score stays.

    Returns:
        dict: ``same_images`` (the same images in the same order),
        ``same_people`` (as many people in each image), ``keypoints``
        (those scored at least ``score_thr`` in either dump), ``moved``
        (those of them more than ``max_px`` from their place in
        ``reference``; all when the people differ), ``max_px`` (the
        largest such distance; inf when the people differ) and
        ``max_score_diff`` (over every keypoint)
    """
    same_images = [r['img_id'] for r in reference] == [
        o['img_id'] for o in other
    ]
    same_people, gaps, max_score = same_images, [], 0.0
    for ref, oth in zip(reference, other):
        a, b = ref['pred_instances'], oth['pred_instances']
        if a['keypoints'].shape != b['keypoints'].shape:
            same_people = False
            continue
        scored = np.maximum(a['keypoint_scores'], b['keypoint_scores'])
        gap = np.linalg.norm(a['keypoints'] - b['keypoints'], axis=-1)
        gaps += gap[scored >= score_thr].tolist()
        diff = np.abs(a['keypoint_scores'] - b['keypoint_scores'])
        max_score = max([max_score, *diff.ravel().tolist()])
    moved = sum(g > max_px for g in gaps)
    return dict(
        same_images=same_images,
        same_people=same_people,
        keypoints=len(gaps),
        moved=moved if same_people else len(gaps),
        max_px=max(gaps, default=0.0) if same_people else float('inf'),
        max_score_diff=max_score,
    )


def run_batched_eval_benchmark(
    config,
    checkpoint,
    batch_sizes: Sequence[int] = (1, 8),
    flags: Sequence[str] = (),
    cfg_options: Sequence[str] = (),
    work_dir=None,
    warmup: int = 0,
) -> dict:
    """Evaluate at each batch size and compare each with the first, after
    ``warmup`` untimed evaluations at the first batch size.

    Returns:
        dict: ``settings``, ``cases`` (per batch size: ``images``,
        ``images_per_s`` of the loop, ``step_images_per_s`` of its steps,
        ``images_per_cpu_s`` (per second of this process's CPU time: less
        dependent on other jobs of a shared machine than the wall time),
        ``coco_ap``, ``vs_first`` from :func:`compare_predictions`)
        and ``machine``
    """
    cases, first = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(warmup):
            evaluate(
                config,
                checkpoint,
                batch_sizes[0],
                Path(tmp) / f'warmup{index}',
                flags,
                cfg_options,
            )
        for index, batch_size in enumerate(batch_sizes):
            run = evaluate(
                config,
                checkpoint,
                batch_size,
                Path(work_dir or tmp) / f'{index}_batch{batch_size}',
                flags,
                cfg_options,
            )
            first = first or run
            cases.append(
                dict(
                    batch_size=batch_size,
                    images=run['images'],
                    images_per_s=run['images'] / run['loop_s'],
                    step_images_per_s=run['images'] / run['step_s'],
                    images_per_cpu_s=run['images'] / run['cpu_s'],
                    coco_ap=run['metrics'].get('coco/AP'),
                    vs_first=compare_predictions(
                        first['predictions'], run['predictions']
                    ),
                )
            )
    return dict(
        benchmark='batched_eval',
        settings=dict(
            config=str(config),
            checkpoint=str(checkpoint),
            flags=list(flags),
            cfg_options=list(cfg_options),
            warmup=warmup,
        ),
        cases=cases,
        machine=common.describe_machine(),
    )


def parse_args(argv=None):
    parser = common.benchmark_parser(
        __doc__, 'batched_eval', warmup=0, threads=None
    )
    parser.add_argument('config', nargs='?', default=str(PAPER_CONFIG))
    parser.add_argument(
        '--checkpoint', help='default: random weights of the config'
    )
    parser.add_argument(
        '--input-size',
        type=int,
        default=256,
        help='square input of the paper config; 0 keeps the config size',
    )
    parser.add_argument(
        '--batch-sizes',
        type=int,
        nargs='+',
        default=[1, 8, 1, 8],
        help='one evaluation each, in this order (alternate them: the load '
        'of a shared machine changes)',
    )
    parser.add_argument(
        '--weights',
        choices=WEIGHTS,
        default='init',
        help="without --checkpoint: 'init' (the config's initialisation: "
        "no people found, the network's cost) or 'random' "
        '(randomize_weights_: 30 people per image, with grouping)',
    )
    parser.add_argument('--tta', default='flip', help="tools/test.py's")
    parser.add_argument('--data-root', default=COCO_MINI)
    parser.add_argument('--work-dir', help='default: a temporary folder')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    common.set_threads(args.threads)
    options = coco_mini_options(args.data_root)
    if args.input_size:
        options += input_size_options(args.input_size)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or random_checkpoint(
            args.config, Path(tmp) / 'random.pth', options, args.weights
        )
        result = run_batched_eval_benchmark(
            args.config,
            checkpoint,
            args.batch_sizes,
            ['--tta', args.tta],
            options,
            args.work_dir,
            args.warmup,
        )
    rows = [
        [
            case['batch_size'],
            case['images'],
            case['images_per_s'],
            case['step_images_per_s'],
            case['images_per_cpu_s'],
            case['coco_ap'],
            case['vs_first']['same_people'],
            f'{case["vs_first"]["moved"]}/{case["vs_first"]["keypoints"]}',
            case['vs_first']['max_score_diff'],
        ]
        for case in result['cases']
    ]
    header = ['batch', 'images', 'images/s', 'step images/s']
    header += ['images/CPU s', 'AP']
    header += ['same people', 'moved > 0.05 px', 'max score diff']
    common.report(result, args.out, common.format_table(header, rows))


if __name__ == '__main__':
    main()
