"""Convert an mmpose HourglassAENet checkpoint for aeplugin's HourglassAE.

The key mapping is documented in
``aeplugin/models/backbones/hourglass_ae_convert.py``.
"""

import argparse

from aeplugin.models.backbones import convert_mmpose_hourglass_ae_checkpoint


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an mmpose HourglassAENet checkpoint (keys '
        '"backbone.*") into one for a BottomupPoseEstimator whose backbone '
        "is aeplugin's HourglassAE"
    )
    parser.add_argument('src', help='mmpose checkpoint path')
    parser.add_argument('dst', help='output checkpoint path')
    parser.add_argument(
        '--unsafe-pickle',
        action='store_true',
        help='unpickle arbitrary objects of SRC (trusted files only, when '
        'its meta holds more than plain types)',
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    convert_mmpose_hourglass_ae_checkpoint(
        args.src, args.dst, args.unsafe_pickle
    )


if __name__ == '__main__':
    main()
