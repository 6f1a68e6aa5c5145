"""Train a pose model with mmengine's Runner (as mmpose's tools/train.py)."""

import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from aeplugin.apis import check_keypoint_count
from aeplugin.engine import (
    check_checkpoint_complete,
    find_resumable_checkpoint,
    finish_distributed,
    init_cpu_distributed,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a pose model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or without a value from '
        'the latest checkpoint in the work directory',
    )
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument(
        '--amp',
        action='store_true',
        help='float16 mixed precision with loss scaling (the configs '
        'already train in bfloat16 on a GPU)',
    )
    precision.add_argument(
        '--fp32',
        action='store_true',
        help='train in float32 with NCHW tensors on a GPU too (the configs '
        'default to bfloat16 autocast and channels-last there)',
    )
    parser.add_argument(
        '--compile',
        action='store_true',
        help='compile the backbone for training with torch.compile '
        '(CompileBackboneHook); drops the last short batch of each epoch',
    )
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size '
        'against `auto_scale_lr.base_batch_size`',
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
    # torchrun passes --local-rank to the script under torch >= 2.0
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg, args):
    """Apply the command-line options to the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join(
            './work_dirs', osp.splitext(osp.basename(args.config))[0]
        )
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.fp32:
        cfg.optim_wrapper.type = 'OptimWrapper'
        preprocessor = cfg.model.data_preprocessor
        if preprocessor.get('type') == 'BottomupDataPreprocessor':
            preprocessor.channels_last = False
        if 'channels_last' in cfg.default_hooks:
            cfg.default_hooks.channels_last.enabled = False
        wrapper = cfg.get('model_wrapper_cfg') or {}
        if str(wrapper.get('type')).endswith(
            'ChannelsLastDistributedDataParallel'
        ):
            wrapper.channels_last = 'never'
    if args.compile:
        cfg.default_hooks.compile_backbone = dict(type='CompileBackboneHook')
        # one batch shape, one compile: no short last batch
        cfg.train_dataloader.drop_last = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    # mmengine resumes from whatever last_checkpoint names, unchecked
    if cfg.get('resume') and cfg.get('load_from') is None:
        cfg.load_from = find_resumable_checkpoint(cfg.work_dir)
    elif cfg.get('resume'):
        check_checkpoint_complete(cfg.load_from)
    init_cpu_distributed(cfg.launcher, cfg.get('env_cfg', {}).get('dist_cfg'))
    runner = Runner.from_cfg(cfg)
    # the model against the training data's keypoints before the first step
    check_keypoint_count(
        runner.model, runner.train_dataloader.dataset.metainfo, args.config
    )
    runner.train()
    finish_distributed()


if __name__ == '__main__':
    main()
