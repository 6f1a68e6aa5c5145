"""Run an AE checkpoint on every frame of a video file or a webcam and
write a video with the skeletons drawn; --batch-size frames run as one
batch."""

import argparse
import sys
from itertools import islice
from pathlib import Path
from typing import Iterator, List, Optional

import cv2
import numpy as np
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


def _frame_batches(
    capture: cv2.VideoCapture, batch_size: int, max_frames: Optional[int]
) -> Iterator[List[np.ndarray]]:
    """Read the frames in lists of ``batch_size`` (the last one may be
    shorter), at most ``max_frames`` in all."""

    def read():
        ok, frame = capture.read()
        while ok:
            yield frame
            ok, frame = capture.read()

    frames = islice(read(), max_frames)
    while batch := list(islice(frames, batch_size)):
        yield batch


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
        for batch in _frame_batches(capture, args.batch_size, args.max_frames):
            results = inference_bottomup(
                model, batch, batch_size=args.batch_size
            )
            for frame, result in zip(batch, results):
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
