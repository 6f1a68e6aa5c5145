"""Keep some of the keypoints of a COCO keypoint annotation file: a
COCO-format dataset with another keypoint set, e.g. the 5 face keypoints of
the shipped COCO images (data/coco-mini-face)::

    python tools/dataset_converters/coco_keypoint_subset.py \
        data/coco-mini/annotations/person_keypoints_train2017.json \
        data/coco-mini-face/annotations/face_keypoints_train2017.json \
        --keypoints nose left_eye right_eye left_ear right_ear

Each annotation keeps the (x, y, v) triples of the named keypoints, in the
order named, and ``num_keypoints`` counts its labelled ones again (a person
whose kept keypoints are all unlabelled stays, with 0: training masks it
out, as it does COCO's people without keypoints); images, boxes, areas,
crowd regions and every other field are copied as they are. The category
lists the kept names and the links of its skeleton between two kept
keypoints, renumbered (COCO's skeleton counts from 1).
"""

import argparse
import json
from typing import List, Sequence


def keypoint_subset(coco: dict, names: Sequence[str]) -> dict:
    """The COCO keypoint annotations ``coco`` with only the keypoints
    ``names``, in that order.

    Args:
        coco (dict): A COCO keypoint annotation file's content, with one
            category that lists ``keypoints``
        names (Sequence[str]): The keypoints to keep, names of the
            category's ``keypoints``; no name twice

    Returns:
        dict: A new dict; ``coco`` is left as it is
    """
    categories = coco.get('categories') or []
    if len(categories) != 1 or 'keypoints' not in categories[0]:
        raise ValueError(
            'expected one category with `keypoints`, got '
            f'{[c.get("name") for c in categories]}'
        )
    category = categories[0]
    known = list(category['keypoints'])
    unknown = [n for n in names if n not in known]
    if unknown or not names or len(set(names)) != len(names):
        raise ValueError(
            f'--keypoints must name distinct keypoints of {known}, got '
            f'{list(names)}' + (f' ({unknown} unknown)' if unknown else '')
        )
    kept = [known.index(n) for n in names]
    # COCO's skeleton counts keypoints from 1
    renumber = {old + 1: new + 1 for new, old in enumerate(kept)}
    skeleton = [
        [renumber[a], renumber[b]]
        for a, b in category.get('skeleton', [])
        if a in renumber and b in renumber
    ]
    annotations = []
    for ann in coco['annotations']:
        ann = dict(ann)
        values = ann.get('keypoints')
        if values is not None:
            if len(values) != 3 * len(known):
                raise ValueError(
                    f'annotation id {ann.get("id")}: `keypoints` has '
                    f'{len(values)} values, expected 3 x {len(known)}'
                )
            triples: List[float] = []
            for k in kept:
                triples.extend(values[3 * k : 3 * k + 3])
            ann['keypoints'] = triples
            ann['num_keypoints'] = sum(v > 0 for v in triples[2::3])
        annotations.append(ann)
    return dict(
        coco,
        annotations=annotations,
        categories=[dict(category, keypoints=list(names), skeleton=skeleton)],
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument('src', help='COCO keypoint annotation file')
    parser.add_argument('dst', help='the annotation file to write')
    parser.add_argument(
        '--keypoints', nargs='+', required=True, help='the names to keep'
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with open(args.src) as f:
        coco = json.load(f)
    subset = keypoint_subset(coco, args.keypoints)
    with open(args.dst, 'w') as f:
        json.dump(subset, f, separators=(',', ':'))
    labelled = sum(
        a.get('num_keypoints', 0) > 0 for a in subset['annotations']
    )
    print(
        f'{len(subset["annotations"])} annotations ({labelled} with labelled '
        f'keypoints), {len(args.keypoints)} keypoints -> {args.dst}'
    )


if __name__ == '__main__':
    main()
