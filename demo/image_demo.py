"""Detect and group the people of one image with an AE checkpoint, draw
their skeletons and, with --show-tags, plot their keypoint tags."""

import argparse
from pathlib import Path

import mmcv
from mmengine.config import Config

from aeplugin.apis import (
    TTA_MODES,
    apply_test_time_options,
    draw_poses,
    inference_bottomup,
    init_model,
)
from aeplugin.visualization import plot_keypoint_tags


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('image', help='image file')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-file', required=True, help='image to write')
    parser.add_argument(
        '--show-tags',
        action='store_true',
        help='also plot each keypoint tag against its person, into '
        "OUT_FILE's folder as <name>_tags.png",
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
    result = inference_bottomup(model, args.image)
    drawn = draw_poses(
        args.image,
        result,
        model.dataset_meta,
        kpt_thr=args.kpt_thr,
        person_thr=args.person_thr,
        radius=args.radius,
        thickness=args.thickness,
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
