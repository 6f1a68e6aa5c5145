"""Evaluate a checkpoint with mmengine's Runner, with mmpose's
tools/test.py flags (--out metrics, --dump predictions, --show-dir
pictures, --show, --interval, --wait-time) and the test-time options of AE
(--tta, --scales, --flip, --refine, --adjust, --json-prefix)."""

import argparse
import os
import os.path as osp

import mmengine
from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.runner import Runner

from aeplugin.apis import check_keypoint_count
from aeplugin.apis.test_time import TTA_MODES, apply_test_time_options
from aeplugin.engine import (
    check_checkpoint_complete,
    finish_distributed,
    init_cpu_distributed,
)

PICKLE_SUFFIXES = ('.pkl', '.pickle')
METRICS_SUFFIXES = ('.json', '.yaml', '.yml')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a pose model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the directory to save evaluation results'
    )
    parser.add_argument(
        '--out',
        help='write the metrics to this file (.json or .yaml), as '
        "mmpose's tools/test.py does",
    )
    parser.add_argument(
        '--dump',
        help='dump the predictions to a pickle file (.pkl), in dataset order',
    )
    parser.add_argument(
        '--show-dir',
        help='draw the predicted people of every --interval-th image into '
        'WORK_DIR/TIMESTAMP/SHOW_DIR (an absolute SHOW_DIR as it is)',
    )
    parser.add_argument(
        '--show',
        action='store_true',
        help='display each drawn image in a window',
    )
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='draw every N-th image (default 1: all)',
    )
    parser.add_argument(
        '--wait-time',
        type=float,
        default=1,
        help='seconds each --show window stays (default 1)',
    )
    parser.add_argument(
        '--json-prefix',
        help='write the COCO-format results to PREFIX.keypoints.json '
        "(CocoMetric's outfile_prefix)",
    )
    parser.add_argument(
        '--tta',
        choices=TTA_MODES,
        help='none: one scale, no flip; flip: one scale with flip test; '
        'multiscale: every --scales, with flip unless --no-flip. Default: '
        'as the config',
    )
    parser.add_argument(
        '--scales',
        nargs='+',
        type=float,
        help='multi-scale test scales, including 1 (default 2 1 0.5)',
    )
    parser.add_argument(
        '--flip',
        action=argparse.BooleanOptionalAction,
        help='flip test on or off (e.g. --tta multiscale --no-flip)',
    )
    parser.add_argument(
        '--refine',
        action=argparse.BooleanOptionalAction,
        help='fill missing keypoints by tag (the decoder default: on)',
    )
    parser.add_argument(
        '--adjust',
        action=argparse.BooleanOptionalAction,
        help='quarter-pixel keypoint adjustment (the decoder default: on)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if args.out is not None and args.out.endswith(PICKLE_SUFFIXES):
        # a pickle to --out wrote the predictions before --dump existed: a
        # pickle of metrics in its place would go unnoticed
        parser.error(
            f"--out {args.out}: --out writes the metrics (as mmpose's "
            'tools/test.py), to a .json or .yaml file; the predictions go '
            f'to --dump {args.out}'
        )
    if args.out is not None and not args.out.endswith(METRICS_SUFFIXES):
        parser.error(
            f'--out {args.out}: the metrics are written as JSON or YAML, '
            f'name it {" or ".join(METRICS_SUFFIXES)}'
        )
    if args.dump is not None and not args.dump.endswith(PICKLE_SUFFIXES):
        parser.error(
            f'--dump {args.dump}: the predictions are written as a pickle, '
            'name it .pkl'
        )
    if args.interval < 1:
        parser.error(f'--interval must be >= 1, got {args.interval}')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg, args):
    """Apply the command-line options to the config (``--cfg-options``
    first, so that the test-time options see the final pipeline)."""
    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join(
            './work_dirs', osp.splitext(osp.basename(args.config))[0]
        )
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    evaluators = (
        cfg.test_evaluator
        if isinstance(cfg.test_evaluator, list)
        else [cfg.test_evaluator]
    )
    if args.json_prefix is not None:
        coco = [e for e in evaluators if 'CocoMetric' in str(e.get('type'))]
        if not coco:
            raise ValueError(
                '--json-prefix needs a CocoMetric in test_evaluator, got '
                f'{[e.get("type") for e in evaluators]}'
            )
        for evaluator in coco:
            evaluator.outfile_prefix = args.json_prefix
    if args.dump is not None:
        cfg.test_evaluator = [
            *evaluators,
            dict(type='DumpResults', out_file_path=args.dump),
        ]
    if args.show or args.show_dir is not None:
        hooks = cfg.get('default_hooks', {})
        if 'visualization' not in hooks:
            raise ValueError(
                f'--show and --show-dir need a `visualization` hook in '
                f'default_hooks of {args.config} (e.g. '
                "dict(type='BottomupVisualizationHook'))"
            )
        hooks.visualization.update(
            enable=True,
            show=args.show,
            wait_time=args.wait_time,
            out_dir=args.show_dir,
            interval=args.interval,
        )
    return apply_test_time_options(
        cfg,
        tta=args.tta,
        scales=args.scales,
        flip=args.flip,
        refine=args.refine,
        adjust=args.adjust,
    )


def metrics_table(metrics: dict) -> str:
    """The metrics as a markdown table."""
    rows = [
        f'| {k} | {v:.4f} |' if isinstance(v, float) else f'| {k} | {v} |'
        for k, v in metrics.items()
    ]
    return '\n'.join(['| metric | value |', '| --- | --- |', *rows])


def put_in_dataset_order(out_file: str, dataset) -> None:
    """Rewrite the predictions dumped to ``out_file`` in dataset order.

    They come in the order the batches ran (and interleaved over the ranks
    of a distributed run), which ``ShapeGroupedBatchSampler`` makes an
    order of input shapes at ``batch_size > 1``. Predictions are matched to
    the dataset by ``img_id``; the file is left as it is when one has none
    or matches no image.
    """
    position = {}
    for i in range(len(dataset)):
        img_id = dataset.get_data_info(i).get('img_id')
        if img_id is not None:
            position.setdefault(img_id, i)
    results = mmengine.load(out_file)
    places = [position.get(r.get('img_id')) for r in results]
    if None in places:
        return
    order = sorted(range(len(results)), key=places.__getitem__)
    if order != list(range(len(results))):
        mmengine.dump([results[i] for i in order], out_file)


def main(argv=None):
    args = parse_args(argv)
    # before the Runner builds the model and reads the data (the runner's
    # CheckpointMatchHook refuses weights that do not fit the model)
    check_checkpoint_complete(args.checkpoint)
    cfg = merge_args(Config.fromfile(args.config), args)
    init_cpu_distributed(cfg.launcher, cfg.get('env_cfg', {}).get('dist_cfg'))
    runner = Runner.from_cfg(cfg)
    check_keypoint_count(
        runner.model, runner.test_dataloader.dataset.metainfo, args.config
    )
    metrics = runner.test()
    if is_main_process():
        if args.dump is not None:
            put_in_dataset_order(args.dump, runner.test_dataloader.dataset)
        if args.out is not None:
            mmengine.dump(metrics, args.out)
        print(metrics_table(metrics))
    finish_distributed()
    return metrics


if __name__ == '__main__':
    main()
