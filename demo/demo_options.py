"""Command-line options shared by the demos: which model and test-time
setting to run, and how to draw its people."""

import argparse

from mmengine.config import Config
from torch import nn

from aeplugin.apis import (
    TTA_MODES,
    apply_test_time_options,
    init_model,
    init_onnx_model,
)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Add ``config``, ``checkpoint``, ``--device``, ``--tta`` and
    ``--scales`` (read by :func:`model_from_options`) and
    ``--batch-size`` (for :func:`aeplugin.apis.inference_bottomup`)."""
    parser.add_argument('config', help='model config file')
    parser.add_argument(
        'checkpoint',
        help='checkpoint file, or an .onnx file of '
        'tools/deployment/export_onnx.py (run with onnxruntime)',
    )
    parser.add_argument('--device', help='cpu, cuda:0, ... (default: auto)')
    parser.add_argument(
        '--tta', choices=TTA_MODES, help='test-time setting (default: config)'
    )
    parser.add_argument(
        '--scales', nargs='+', type=float, help='with --tta multiscale'
    )
    parser.add_argument(
        '--batch-size',
        type=_positive_int,
        default=1,
        help='images per batch; images of different input shapes never '
        'share one, so the predictions are those of batch 1 (default: 1)',
    )


def add_drawing_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--kpt-thr``, ``--person-thr``, ``--radius`` and
    ``--thickness`` (read by :func:`drawing_options`)."""
    parser.add_argument(
        '--kpt-thr', type=float, default=0.3, help='keypoint score to draw'
    )
    parser.add_argument(
        '--person-thr',
        type=float,
        default=0.0,
        help='people scoring below it are not drawn (e.g. 0.1 hides weak '
        'groups of stray peaks)',
    )
    parser.add_argument('--radius', type=int, default=3)
    parser.add_argument('--thickness', type=int, default=1)


def model_from_options(args: argparse.Namespace) -> nn.Module:
    """The model of ``args.config`` with ``args.checkpoint``, on
    ``args.device``, set to the test-time setting of ``args.tta`` and
    ``args.scales``; an ``.onnx`` checkpoint runs in onnxruntime, on the
    CUDA provider when ``args.device`` names a GPU."""
    cfg = apply_test_time_options(
        Config.fromfile(args.config), tta=args.tta, scales=args.scales
    )
    if str(args.checkpoint).endswith('.onnx'):
        providers = ['CPUExecutionProvider']
        if args.device is not None and args.device.startswith('cuda'):
            providers.insert(0, 'CUDAExecutionProvider')
        return init_onnx_model(args.checkpoint, cfg, providers=providers)
    return init_model(cfg, args.checkpoint, device=args.device)


def drawing_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of :func:`draw_poses` set on the command
    line."""
    return dict(
        kpt_thr=args.kpt_thr,
        person_thr=args.person_thr,
        radius=args.radius,
        thickness=args.thickness,
    )
