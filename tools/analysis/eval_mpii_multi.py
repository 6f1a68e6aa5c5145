"""Score MPII multi-person predictions of any model with the MPII AP
protocol (evaluateAP.m: PCKh@0.5, one-to-one person assignment, VOC AP per
joint) and print the paper's table.

Usage::

    python tools/analysis/eval_mpii_multi.py ANN_JSON PRED_JSON \
        [--out-json FILE] [--subset train|val] [--threshold 0.5] \
        [--no-count-unpredicted-images]

ANN_JSON: MPII annotations, mmpose's MPII JSON (``image``, ``joints``,
``joints_vis``, optional ``head_box``; see
tools/dataset_converters/mpii_mat_to_json.py) or the per-person JSON with
``joint_self`` / ``joint_others``. Every annotated image is scored.

PRED_JSON: a list with one entry per image, in original image
coordinates, joints in MPII order (r ankle, r knee, r hip, l hip, l knee,
l ankle, pelvis, thorax, upper neck, head top, r wrist, r elbow,
r shoulder, l shoulder, l elbow, l wrist)::

    [{"image": "015601864.jpg",
      "people": [{"keypoints": [[x, y, score], ... 16 joints]}, ...]},
     ...]

A joint may be ``null`` (not predicted); the score ranks the joint among
all predictions of its type. An image without an entry has no
predictions: its ground truth counts as missed, unless
``--no-count-unpredicted-images``, which leaves it out as the official
evaluateAP.m does (its mAP is then comparable with published numbers, and
higher for a method that predicts nobody in some images). An entry for an
image that is not annotated, or a person without 16 joints, is an error
naming it.

``--out-json`` writes ``{"Head", "Shoulder", "Elbow", "Wrist", "Hip",
"Knee", "Ankle", "mAP"}`` in percent. The logic lives in
``aeplugin.evaluation.metrics``.
"""

import argparse
import json
import sys

from aeplugin.evaluation.metrics import (
    evaluate_mpii_prediction_file,
    format_mpii_table,
    head_size_notes,
    unpredicted_images_note,
)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument('ann_json', help='MPII annotations (either layout)')
    parser.add_argument('pred_json', help='predictions (see above)')
    parser.add_argument('--out-json', help='also write the table as JSON')
    parser.add_argument(
        '--subset',
        choices=('train', 'val'),
        help='isValidation split of the per-person layout',
    )
    parser.add_argument(
        '--threshold',
        type=float,
        default=0.5,
        help='PCKh threshold in head sizes (default 0.5)',
    )
    parser.add_argument(
        '--count-unpredicted-images',
        action=argparse.BooleanOptionalAction,
        default=True,
        help='count the ground truth of images without any predicted '
        'person as missed (default); --no-count-unpredicted-images leaves '
        'it out, as the official evaluateAP.m',
    )
    args = parser.parse_args(argv)
    try:
        result = evaluate_mpii_prediction_file(
            args.ann_json,
            args.pred_json,
            args.subset,
            args.threshold,
            args.count_unpredicted_images,
        )
    except (ValueError, TypeError) as error:
        sys.exit(f'error: {error}')
    print(format_mpii_table(result['table']))
    notes = [*head_size_notes(result), unpredicted_images_note(result)]
    for note in filter(None, notes):
        print(f'warning: {note}')
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump(result['table'], f, indent=2)


if __name__ == '__main__':
    main()
