"""Run an AE checkpoint on every frame of a video file or a webcam and
write a video with the skeletons drawn."""

import argparse
import sys

import cv2
from mmengine.config import Config
from mmengine.utils import ProgressBar

from aeplugin.apis import (
    TTA_MODES,
    apply_test_time_options,
    draw_poses,
    inference_bottomup,
    init_model,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('input', help='video file, or a webcam index (0)')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out-file', required=True, help='video to write (.mp4)'
    )
    parser.add_argument(
        '--max-frames',
        type=int,
        help='stop after this many frames (a webcam runs until Ctrl-C '
        'without it)',
    )
    parser.add_argument(
        '--fps', type=float, help="output frame rate (default: the input's)"
    )
    parser.add_argument('--device', help='cpu, cuda:0, ... (default: auto)')
    parser.add_argument(
        '--tta', choices=TTA_MODES, help='test-time setting (default: config)'
    )
    parser.add_argument(
        '--scales', nargs='+', type=float, help='with --tta multiscale'
    )
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
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = apply_test_time_options(
        Config.fromfile(args.config), tta=args.tta, scales=args.scales
    )
    model = init_model(cfg, args.checkpoint, device=args.device)

    source = int(args.input) if args.input.isdigit() else args.input
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise FileNotFoundError(f'cannot open video input {args.input!r}')
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    if args.max_frames is not None:
        total = min(total, args.max_frames) if total > 0 else args.max_frames
    fps = args.fps or capture.get(cv2.CAP_PROP_FPS) or 30.0
    progress = ProgressBar(max(total, 0), file=sys.stdout)
    writer, frames = None, 0
    try:
        while args.max_frames is None or frames < args.max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            result = inference_bottomup(model, frame)
            drawn = draw_poses(
                frame,
                result,
                model.dataset_meta,
                kpt_thr=args.kpt_thr,
                person_thr=args.person_thr,
                radius=args.radius,
                thickness=args.thickness,
            )
            if writer is None:
                writer = cv2.VideoWriter(
                    args.out_file,
                    cv2.VideoWriter_fourcc(*'mp4v'),
                    fps,
                    (drawn.shape[1], drawn.shape[0]),
                )
            writer.write(drawn)
            frames += 1
            progress.update()
    except KeyboardInterrupt:
        pass
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    print(f'\n{frames} frames -> {args.out_file}')


if __name__ == '__main__':
    main()
