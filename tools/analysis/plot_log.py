"""Plot the loss curves (and COCO AP) of a training run into a PNG."""

import argparse
import os.path as osp

from aeplugin.visualization import plot_training_curves


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('work_dir', help='work directory of tools/train.py')
    parser.add_argument(
        '--out', help='PNG to write (default: WORK_DIR/training_curves.png)'
    )
    args = parser.parse_args(argv)
    out = args.out or osp.join(args.work_dir, 'training_curves.png')
    print(plot_training_curves(args.work_dir, out))


if __name__ == '__main__':
    main()
