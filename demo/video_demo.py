"""Run an AE checkpoint on every frame of a video file or a webcam and
write a video with the skeletons drawn."""

import argparse
import sys
from pathlib import Path

import cv2
from mmengine.utils import ProgressBar

from aeplugin.apis import draw_poses, inference_bottomup

if not __package__:  # run as a script: import demo.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo import demo_options  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('input', help='video file, or a webcam index (0)')
    demo_options.add_model_options(parser)
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
    demo_options.add_drawing_options(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model = demo_options.model_from_options(args)

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
                **demo_options.drawing_options(args),
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
