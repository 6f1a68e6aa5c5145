"""Decoding speed and accuracy: ours against mmpose's AssociativeEmbedding.

python tools/benchmark/decode.py [--seeds 0 1 2] [--batch-sizes 1 16]
    [--repeat 3] [--threads 1] [--device cpu] [--out FILE]

Our ``BottomupGrouping`` against mmpose's ``AssociativeEmbedding`` codec on
the same noisy maps of real people. The maps are rendered
(:func:`aeplugin.testing.render_ae_maps`) from the people of a COCO
keypoint annotation file, each image scaled so that its longer side spans
the codec input, with realistic noise: weak, missing and jittered
keypoints, false peaks, noisy tags. Both decoders get the same settings;
accuracy is the COCO keypoint AP (xtcocotools) of the decoded people
against the annotated ones, in the codec's input space.
"""

import functools
import sys
from pathlib import Path
from typing import List, Sequence, Tuple, Union

import numpy as np
import torch
from mmpose.codecs import AssociativeEmbedding

from aeplugin.codecs import BottomupGrouping
from aeplugin.testing import (
    COCO_ORDER,
    MapNoise,
    coco_keypoint_ap,
    load_coco_people,
    render_ae_maps,
    to_detections,
)

if not __package__:  # run as a script: import tools.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.benchmark import common  # noqa: E402

INPUT_SIZE = 512
HEATMAP_SIZE = 128
# The noise of the codec tests' accuracy check: MapNoise's defaults (10%
# missing and 15% weak keypoints, jitter, tag noise) with 3 false peaks per
# keypoint type.
NOISE = MapNoise(false_peaks=3)


def codec_settings(refine: bool = True) -> dict:
    """The decode settings both codecs get (those of the 512x512 COCO
    configs, but for a zero center shift: the maps are rendered with
    keypoints at pixel centres)."""
    return dict(
        input_size=(INPUT_SIZE, INPUT_SIZE),
        heatmap_size=(HEATMAP_SIZE, HEATMAP_SIZE),
        sigma=2,
        decode_keypoint_order=COCO_ORDER,
        decode_topk=30,
        decode_max_instances=30,
        **({} if refine else dict(refine=False)),
    )


class MMPoseWithoutRefine(AssociativeEmbedding):
    """mmpose's codec without its fill of missing keypoints (it has no
    option for it), to compare against our ``refine=False``."""

    def _fill_missing_keypoints(self, keypoints, keypoint_scores, *args):
        return keypoints, keypoint_scores


def build_codecs(
    refine: bool,
) -> Tuple[BottomupGrouping, AssociativeEmbedding]:
    """Our codec and mmpose's with the same settings."""
    ours = BottomupGrouping(**codec_settings(refine))
    settings = codec_settings()
    theirs = (AssociativeEmbedding if refine else MMPoseWithoutRefine)(
        **settings
    )
    return ours, theirs


def render_inputs(
    images: Sequence[dict], seeds: Sequence[int]
) -> Tuple[List[dict], torch.Tensor, torch.Tensor]:
    """Render noisy maps of every image with every noise seed.

    Note:

        - map number: M (images times seeds)
        - keypoint number: K
        - heatmap size: [W, H]

    Args:
        images (Sequence[dict]): Images from :func:`load_coco_people`
        seeds (Sequence[int]): Noise seeds

    Returns:
        tuple:
        - samples (List[dict]): The image of each map, with the unique
            ``image_id`` ``image_id * len(seeds) + seed index``
        - heatmaps (Tensor): In shape (M, K, H, W)
        - tags (Tensor): In shape (M, K, H, W)
    """
    stride = INPUT_SIZE / HEATMAP_SIZE
    samples, heatmaps, tags = [], [], []
    for index, seed in enumerate(seeds):
        for image in images:
            heatmap, tag = render_ae_maps(
                image['keypoints'] / stride,
                (HEATMAP_SIZE, HEATMAP_SIZE),
                image['visible'],
                sigma=2,
                noise=NOISE,
                seed=seed * 100003 + image['image_id'] % 100003,
            )
            samples.append(
                dict(image, image_id=image['image_id'] * len(seeds) + index)
            )
            heatmaps.append(heatmap)
            tags.append(tag)
    return (
        samples,
        torch.from_numpy(np.stack(heatmaps)),
        torch.from_numpy(np.stack(tags)),
    )


def decode_all(
    codec, heatmaps: torch.Tensor, tags: torch.Tensor, batch_size: int
) -> Tuple[list, list, list]:
    """Decode every map, ``batch_size`` maps per ``batch_decode`` call.

    Returns:
        tuple: Per map keypoints, keypoint scores and instance scores
    """
    outputs = ([], [], [])
    for start in range(0, len(heatmaps), batch_size):
        decoded = codec.batch_decode(
            heatmaps[start : start + batch_size],
            tags[start : start + batch_size],
        )
        for output, part in zip(outputs, decoded):
            output.extend(part)
    return outputs


def run_decode_benchmark(
    ann_file: Union[str, Path],
    seeds: Sequence[int] = (0, 1, 2),
    batch_sizes: Sequence[int] = (1, 16),
    refines: Sequence[bool] = (True, False),
    repeat: int = 3,
    warmup: int = 1,
    max_images: Union[int, None] = None,
    device: Union[str, torch.device] = 'cpu',
) -> dict:
    """Time and score both decoders on the maps of every image and seed.

    Both decode every map, ``batch_size`` maps per ``batch_decode`` call,
    in passes over all maps that alternate between ours and mmpose's (see
    :func:`~tools.benchmark.common.time_interleaved`); ms/image is the
    sum over calls of their median time over ``repeat`` rounds, divided by
    the number of maps. mmpose's codec works in NumPy: it gets the maps on
    the CPU, ours on ``device``.

    Args:
        ann_file (str | Path): COCO person keypoint annotation JSON
        seeds (Sequence[int]): Noise seeds; each image is rendered once per
            seed. Defaults to (0, 1, 2)
        batch_sizes (Sequence[int]): Maps per ``batch_decode`` call.
            Defaults to (1, 16)
        refines (Sequence[bool]): Refine settings to run. Defaults to
            (True, False)
        repeat (int): Timed rounds per case. Defaults to 3
        warmup (int): Untimed rounds per case. Defaults to 1
        max_images (int, optional): Use only the first images of the file
        device (str | torch.device): Where our decoder gets the maps.
            Defaults to ``'cpu'``

    Returns:
        dict: ``settings``, ``inputs`` (image, map and people counts),
        ``cases`` (one per refine setting and batch size: ms/image of both
        and ``speedup``), ``accuracy`` (per refine setting: the AP of both)
        and ``machine``
    """
    images = load_coco_people(ann_file, INPUT_SIZE)[:max_images]
    samples, heatmaps, tags = render_inputs(images, seeds)
    device_heatmaps, device_tags = heatmaps.to(device), tags.to(device)
    num_maps = len(samples)
    cases, accuracy = [], []
    for refine in refines:
        ours, theirs = build_codecs(refine)
        our_ap = coco_keypoint_ap(
            samples,
            to_detections(
                samples, *decode_all(ours, device_heatmaps, device_tags, 1)
            ),
        )
        their_ap = coco_keypoint_ap(
            samples,
            to_detections(samples, *decode_all(theirs, heatmaps, tags, 1)),
        )
        accuracy.append(
            dict(refine=refine, ours_ap=our_ap, mmpose_ap=their_ap)
        )
        for batch_size in batch_sizes:
            starts = range(0, num_maps, batch_size)
            times = common.time_interleaved(
                dict(
                    ours=[
                        functools.partial(
                            ours.batch_decode,
                            device_heatmaps[start : start + batch_size],
                            device_tags[start : start + batch_size],
                        )
                        for start in starts
                    ],
                    mmpose=[
                        functools.partial(
                            theirs.batch_decode,
                            heatmaps[start : start + batch_size],
                            tags[start : start + batch_size],
                        )
                        for start in starts
                    ],
                ),
                repeat,
                warmup,
                device,
            )
            our_time, their_time = times['ours'], times['mmpose']
            cases.append(
                dict(
                    refine=refine,
                    batch_size=batch_size,
                    ours_ms_per_image=our_time['median_s'] * 1e3 / num_maps,
                    mmpose_ms_per_image=(
                        their_time['median_s'] * 1e3 / num_maps
                    ),
                    speedup=common.speedup(our_time, their_time),
                    ours_time=our_time,
                    mmpose_time=their_time,
                )
            )
    return dict(
        benchmark='decode',
        settings=dict(
            codec_settings(),
            noise=NOISE.__dict__,
            seeds=list(seeds),
            repeat=repeat,
            warmup=warmup,
        ),
        inputs=dict(
            ann_file=str(ann_file),
            images=len(images),
            maps=num_maps,
            people=int(sum(len(image['keypoints']) for image in images)),
        ),
        cases=cases,
        accuracy=accuracy,
        machine=common.describe_machine(device),
    )


def parse_args():
    # One thread by default: both decoders run small ops, and a second
    # thread mostly adds noise on a shared machine.
    parser = common.benchmark_parser(__doc__, 'decode')
    parser.add_argument(
        '--ann-file',
        default=common.SHIPPED_ANN_FILE,
        help='COCO person keypoint annotations whose people are rendered',
    )
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 16])
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='where our decoder gets the maps (mmpose decodes on the CPU)',
    )
    return parser.parse_args()


def main():
    args = parse_args()
    common.set_threads(args.threads)
    result = run_decode_benchmark(
        args.ann_file,
        seeds=args.seeds,
        batch_sizes=args.batch_sizes,
        repeat=args.repeat,
        warmup=args.warmup,
        device=args.device,
    )
    inputs = result['inputs']
    common.report(
        result,
        args.out,
        f'{inputs["maps"]} maps ({inputs["images"]} images x '
        f'{len(args.seeds)} noise seeds, {inputs["people"]} people), '
        '128x128, K=17',
        common.format_table(
            ['refine', 'batch', 'ours ms/image', 'mmpose ms/image', 'speedup'],
            [
                [
                    'on' if case['refine'] else 'off',
                    case['batch_size'],
                    case['ours_ms_per_image'],
                    case['mmpose_ms_per_image'],
                    case['speedup'],
                ]
                for case in result['cases']
            ],
        ),
        common.format_table(
            ['refine', 'ours COCO AP', 'mmpose COCO AP'],
            [
                [
                    'on' if row['refine'] else 'off',
                    row['ours_ap'],
                    row['mmpose_ap'],
                ]
                for row in result['accuracy']
            ],
        ),
    )


if __name__ == '__main__':
    main()
