"""Detect and group the people of images with an AE checkpoint, draw their
skeletons and, with --show-tags, plot their keypoint tags."""

import argparse
import sys
from pathlib import Path

import mmcv

from aeplugin.apis import draw_poses, inference_bottomup
from aeplugin.apis.image_inputs import check_image_file
from aeplugin.visualization import plot_keypoint_tags

if not __package__:  # run as a script: import demo.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo import demo_options  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('images', nargs='+', help='image files')
    demo_options.add_model_options(parser)
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument('--out-file', help='image to write (one input image)')
    out.add_argument(
        '--out-dir', help='folder to write each image to, under its name'
    )
    parser.add_argument(
        '--show-tags',
        action='store_true',
        help='also plot each keypoint tag against its person, next to each '
        'written image as <name>_tags.png',
    )
    demo_options.add_drawing_options(parser)
    args = parser.parse_args(argv)
    if args.out_file is not None and len(args.images) > 1:
        parser.error(
            f'--out-file takes one image, got {len(args.images)}: use '
            '--out-dir'
        )
    return args


def main(argv=None):
    args = parse_args(argv)
    # before the model loads (seconds): a bad image file fails at once
    for image in args.images:
        check_image_file(image)
    model = demo_options.model_from_options(args)
    results = inference_bottomup(
        model, args.images, batch_size=args.batch_size
    )
    for image, result in zip(args.images, results):
        if args.out_file is not None:
            out = Path(args.out_file)
        else:
            out = Path(args.out_dir) / Path(image).name
        drawn = draw_poses(
            image,
            result,
            model.dataset_meta,
            **demo_options.drawing_options(args),
        )
        mmcv.imwrite(drawn, str(out))
        people = result.pred_instances
        print(f'{len(people)} people -> {out}')
        if args.show_tags:
            tags_file = out.with_name(f'{out.stem}_tags.png')
            plot_keypoint_tags(
                people.keypoint_tags,
                people.keypoint_scores,
                score_thr=args.kpt_thr,
                out_file=tags_file,
            )
            print(f'tags -> {tags_file}')


if __name__ == '__main__':
    main()
