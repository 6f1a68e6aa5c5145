"""Detect and group the people of one image with an AE checkpoint, draw
their skeletons and, with --show-tags, plot their keypoint tags."""

import argparse
import sys
from pathlib import Path

import mmcv

from aeplugin.apis import draw_poses, inference_bottomup
from aeplugin.visualization import plot_keypoint_tags

if not __package__:  # run as a script: import demo.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo import demo_options  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('image', help='image file')
    demo_options.add_model_options(parser)
    parser.add_argument('--out-file', required=True, help='image to write')
    parser.add_argument(
        '--show-tags',
        action='store_true',
        help='also plot each keypoint tag against its person, into '
        "OUT_FILE's folder as <name>_tags.png",
    )
    demo_options.add_drawing_options(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model = demo_options.model_from_options(args)
    result = inference_bottomup(model, args.image)
    drawn = draw_poses(
        args.image,
        result,
        model.dataset_meta,
        **demo_options.drawing_options(args),
    )
    mmcv.imwrite(drawn, args.out_file)
    people = result.pred_instances
    print(f'{len(people)} people -> {args.out_file}')
    if args.show_tags:
        out = Path(args.out_file)
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
