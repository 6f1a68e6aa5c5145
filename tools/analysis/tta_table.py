"""COCO AP and time per image of a checkpoint under the test-time settings
of the paper's table (single scale, + refine, multi-scale, multi-scale +
refine), printed as a markdown table."""

import argparse
import os.path as osp
import time

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.runner import Runner

from aeplugin.apis.test_time import DEFAULT_SCALES, apply_test_time_options

METRICS = ('AP', 'AP .5', 'AP .75', 'AR')


class TestStepTimer(Hook):
    """Wall time of each test iteration (preprocessing, network, grouping;
    not data loading or evaluation)."""

    def __init__(self):
        self.seconds, self.images = [], []

    def before_test_iter(self, runner, batch_idx, data_batch=None):
        self._start = time.perf_counter()

    def after_test_iter(
        self, runner, batch_idx, data_batch=None, outputs=None
    ):
        self.seconds.append(time.perf_counter() - self._start)
        self.images.append(len(outputs))

    def ms_per_image(self) -> float:
        """The median over iterations of the time per image: robust to the
        first iterations of a process (and of each new input size), which
        set up kernels, and to other jobs on a shared machine."""
        return 1000 * float(
            np.median(np.array(self.seconds) / np.array(self.images))
        )


def paper_rows(scales, flip):
    """The settings of the paper's rows: (name, test-time options)."""
    single = 'flip' if flip else 'none'
    multi = dict(tta='multiscale', scales=scales, flip=flip)
    return [
        ('single scale', dict(tta=single, refine=False)),
        ('single scale + refine', dict(tta=single, refine=True)),
        ('multi-scale', dict(multi, refine=False)),
        ('multi-scale + refine', dict(multi, refine=True)),
    ]


def run_row(args, index, options):
    """Evaluate the checkpoint with one setting; returns (metrics, timer)."""
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    apply_test_time_options(cfg, **options)
    cfg.load_from = args.checkpoint
    cfg.work_dir = osp.join(args.work_dir, f'row{index}')
    cfg.experiment_name = f'tta_table_row{index}_{time.strftime("%H%M%S")}'
    runner = Runner.from_cfg(cfg)
    timer = TestStepTimer()
    runner.register_hook(timer, priority='LOWEST')
    return runner.test(), timer


def format_table(results) -> str:
    """results: (name, options, metrics, ms per image) per row."""
    lines = [
        '| setting | scales | flip | refine | '
        + ' | '.join(METRICS)
        + ' | ms / image (median) |',
        '| --- ' * (5 + len(METRICS)) + '|',
    ]
    for name, options, metrics, ms in results:
        scales = options.get('scales') or [1.0]
        flip = options['tta'] == 'flip' or (
            options['tta'] == 'multiscale' and options['flip']
        )
        values = []
        for metric in METRICS:
            key = next((k for k in metrics if k.endswith('/' + metric)), None)
            values.append('-' if key is None else f'{metrics[key]:.3f}')
        lines.append(
            f'| {name} | {" ".join(f"{s:g}" for s in scales)} | '
            f'{"yes" if flip else "no"} | '
            f'{"yes" if options["refine"] else "no"} | '
            + ' | '.join(values)
            + f' | {ms:.1f} |'
        )
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--scales',
        nargs='+',
        type=float,
        default=list(DEFAULT_SCALES),
        help="multi-scale rows' scales, including 1 (default: 2 1 0.5)",
    )
    parser.add_argument(
        '--no-flip',
        dest='flip',
        action='store_false',
        help='every row without flip test (default: with, as the paper)',
    )
    parser.add_argument(
        '--work-dir',
        help='where the runs log (default: work_dirs/tta_table/CONFIG)',
    )
    parser.add_argument('--out', help='also write the table to this file')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as key=value pairs',
    )
    args = parser.parse_args(argv)
    if args.work_dir is None:
        name = osp.splitext(osp.basename(args.config))[0]
        args.work_dir = osp.join('work_dirs', 'tta_table', name)

    results = []
    for index, (name, options) in enumerate(
        paper_rows(args.scales, args.flip)
    ):
        metrics, timer = run_row(args, index, options)
        results.append((name, options, metrics, timer.ms_per_image()))
    table = format_table(results)
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table + '\n')
    return results


if __name__ == '__main__':
    main()
