"""Run an AE checkpoint on every frame of a video file or a webcam and
write a video with the skeletons drawn; --batch-size frames run as one
batch."""

import argparse
import os.path as osp
import sys
from itertools import chain, islice
from pathlib import Path
from typing import Iterable, Iterator, List, Optional

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


def open_video(source: str) -> cv2.VideoCapture:
    """Open a video file, a stream URL or a webcam index (``'0'``).

    Args:
        source (str): The demo's ``input``

    Returns:
        cv2.VideoCapture: The opened capture

    Raises:
        FileNotFoundError: A video file that does not exist
        ValueError: A directory, an empty file, or an input OpenCV cannot
            open (not a video, a format it lacks, no such webcam)
    """
    if source.isdigit():
        capture = cv2.VideoCapture(int(source))
        if not capture.isOpened():
            raise ValueError(f'cannot open webcam {source}')
        return capture
    if '://' not in source:
        if not osp.exists(source):
            raise FileNotFoundError(f'video file {source} does not exist')
        if osp.isdir(source):
            raise ValueError(f'{source} is a directory, not a video file')
        if osp.getsize(source) == 0:
            raise ValueError(f'video file {source} is empty (0 bytes)')
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise ValueError(
            f'cannot open video {source}: not a video, cut short, or of a '
            'format OpenCV cannot read'
        )
    return capture


def _read_frames(capture: cv2.VideoCapture) -> Iterator[np.ndarray]:
    ok, frame = capture.read()
    while ok:
        yield frame
        ok, frame = capture.read()


def _frame_batches(
    frames: Iterable[np.ndarray], batch_size: int, max_frames: Optional[int]
) -> Iterator[List[np.ndarray]]:
    """The frames in lists of ``batch_size`` (the last one may be shorter),
    at most ``max_frames`` in all."""
    frames = islice(frames, max_frames)
    while batch := list(islice(frames, batch_size)):
        yield batch


def main(argv=None):
    args = parse_args(argv)
    capture = open_video(args.input)
    # before the model loads (seconds): a video without frames would
    # otherwise end in an empty result
    video = _read_frames(capture)
    first = next(video, None)
    if first is None:
        capture.release()
        raise ValueError(
            f'video {args.input} has no frames (empty, or none OpenCV can '
            'decode)'
        )
    model = demo_options.model_from_options(args)

    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    if args.max_frames is not None:
        total = min(total, args.max_frames) if total > 0 else args.max_frames
    fps = args.fps or capture.get(cv2.CAP_PROP_FPS) or 30.0
    progress = ProgressBar(max(total, 0), file=sys.stdout)
    batches = _frame_batches(
        chain([first], video), args.batch_size, args.max_frames
    )
    writer, frames = None, 0
    try:
        for batch in batches:
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
                    # OpenCV writes nothing, silently, to a path it cannot
                    # open (a missing folder)
                    if not writer.isOpened():
                        raise ValueError(
                            f'cannot write video {args.out_file} (does its '
                            'folder exist?)'
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
