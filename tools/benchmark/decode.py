"""Decoding speed and accuracy: ours against mmpose's AssociativeEmbedding.

python tools/benchmark/decode.py [--settings typical default crowded]
    [--sizes 128 512] [--seeds 0 1 2] [--batch-sizes 1 16] [--repeat 3]
    [--maps-512 6] [--threads 1] [--device cpu] [--out FILE]

Our ``BottomupGrouping`` against mmpose's ``AssociativeEmbedding`` codec on
the same noisy maps of real people. The maps are rendered
(:func:`aeplugin.testing.render_ae_maps`) at 128x128 from the people of a
COCO keypoint annotation file, each image scaled so that its longer side
spans the 512 codec input, with realistic noise: weak, missing and
jittered keypoints, false peaks, noisy tags. Three settings:

- ``typical``: as ``default``, with each image's people cut to a count
  drawn from COCO val's distribution of people per image (see
  ``TYPICAL_PEOPLE_MEAN``): on ``data/coco-mini``, 2.1 people per map,
  86% of the maps holding 1 to 3;
- ``default``: the people of one image per map, 3 false peaks per keypoint
  type (the noise of the codec tests' accuracy check);
- ``crowded``: the people of 3 images per map (the images with most people
  first), 10 false peaks per keypoint type, 30% of the keypoints missing
  and 30% weak, as an untrained or weak model gives: many groups, most of
  them partial, so many missing keypoints to fill.

Two map sizes: 128x128, the network output of the 512x512 configs, and
512x512, the same maps restored to the input size (bilinear, as the
configs' ``restore_heatmap_size`` does before decoding). Both decoders get
the same settings; accuracy is the COCO keypoint AP (xtcocotools) of the
decoded people against the annotated ones, in the codec's input space.
"""

import functools
import sys
from pathlib import Path
from typing import List, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
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
# The distribution of people per image in COCO val2017's keypoint
# annotations, as issue 23 measured it on the real file (not in this
# repository): mean 2.1 people per image with at least one, up to 13, most
# images holding 1 to 3. Modelled as counts n >= 1 with P(n) proportional to
# q ** n, q = 1 - 1 / 2.1 (a geometric law of mean 2.1), cut at 13:
# P(1) = 0.48, P(2) = 0.25, P(3) = 0.13, P(n > 3) = 0.14.
TYPICAL_PEOPLE_MEAN = 2.1
TYPICAL_PEOPLE_MAX = 13
# Per setting: the noise, the images whose people share a map and whether
# each image's people are cut to a typical count.
SETTINGS = dict(
    typical=dict(noise=NOISE, images_per_map=1, typical_people=True),
    default=dict(noise=NOISE, images_per_map=1),
    crowded=dict(
        noise=MapNoise(false_peaks=10, drop_prob=0.3, weaken_prob=0.3),
        images_per_map=3,
    ),
)
MAP_SIZES = (HEATMAP_SIZE, INPUT_SIZE)


def codec_settings(refine: bool = True, map_size: int = HEATMAP_SIZE) -> dict:
    """The decode settings both codecs get (those of the 512x512 COCO
    configs, but for a zero center shift: the maps are rendered with
    keypoints at pixel centres), for maps of ``map_size``."""
    return dict(
        input_size=(INPUT_SIZE, INPUT_SIZE),
        heatmap_size=(map_size, map_size),
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
    refine: bool, map_size: int = HEATMAP_SIZE
) -> Tuple[BottomupGrouping, AssociativeEmbedding]:
    """Our codec and mmpose's with the same settings."""
    ours = BottomupGrouping(**codec_settings(refine, map_size))
    settings = codec_settings(map_size=map_size)
    theirs = (AssociativeEmbedding if refine else MMPoseWithoutRefine)(
        **settings
    )
    return ours, theirs


def compose_images(images: Sequence[dict], per_map: int) -> List[dict]:
    """Put the people of ``per_map`` images in one image, the images with
    most people first.

    Args:
        images (Sequence[dict]): Images from :func:`load_coco_people`
        per_map (int): The images whose people share an image

    Returns:
        List[dict]: The composed images, each with the ``image_id`` of its
        first image and the people of all
    """
    if per_map == 1:
        return list(images)
    ordered = sorted(images, key=lambda image: -len(image['keypoints']))
    return [
        dict(
            {
                key: np.concatenate([image[key] for image in group])
                for key in ('keypoints', 'visible', 'area', 'bbox')
            },
            image_id=group[0]['image_id'],
        )
        for group in (
            ordered[start : start + per_map]
            for start in range(0, len(ordered), per_map)
        )
    ]


def typical_people_counts(num_images: int) -> np.ndarray:
    """People counts for ``num_images`` images that follow COCO val's
    distribution (see ``TYPICAL_PEOPLE_MEAN``): its quantiles at
    ``(i + 0.5) / num_images``, ascending, so that any number of images
    gets the distribution's shape without random draws.

    Returns:
        np.ndarray: The counts in shape (num_images, ), ascending
    """
    counts = np.arange(1, TYPICAL_PEOPLE_MAX + 1)
    q = 1 - 1 / TYPICAL_PEOPLE_MEAN
    probs = q**counts
    cdf = np.cumsum(probs / probs.sum())
    quantiles = (np.arange(num_images) + 0.5) / num_images
    return counts[np.searchsorted(cdf, quantiles).clip(max=len(cdf) - 1)]


def typical_images(images: Sequence[dict]) -> List[dict]:
    """Cut each image's people to a count of COCO val's distribution
    (:func:`typical_people_counts`), keeping its largest people.

    The counts go to the images by rank, the largest to the most crowded
    image, so an image keeps at most all its people; the images keep their
    order.

    Args:
        images (Sequence[dict]): Images from :func:`load_coco_people`

    Returns:
        List[dict]: The images, each with its first ``count`` people by
        area, largest first
    """
    ranks = np.argsort(
        [len(image['keypoints']) for image in images], kind='stable'
    )
    counts = np.empty(len(images), np.int64)
    counts[ranks] = typical_people_counts(len(images))
    cut = []
    for image, count in zip(images, counts):
        keep = np.argsort(-image['area'], kind='stable')[:count]
        cut.append(
            dict(
                image,
                **{
                    key: image[key][keep]
                    for key in ('keypoints', 'visible', 'area', 'bbox')
                },
            )
        )
    return cut


def render_inputs(
    images: Sequence[dict],
    seeds: Sequence[int],
    noise: MapNoise = NOISE,
    map_size: int = HEATMAP_SIZE,
    max_maps: Union[int, None] = None,
) -> Tuple[List[dict], torch.Tensor, torch.Tensor]:
    """Render noisy maps of every image with every noise seed (or of the
    first ``max_maps``, those of the first seed first).

    The maps are rendered at ``HEATMAP_SIZE`` and, for a larger
    ``map_size``, restored to it by bilinear interpolation.

    Note:

        - map number: M (images times seeds)
        - keypoint number: K
        - heatmap size: [W, H] (``map_size``)

    Args:
        images (Sequence[dict]): Images from :func:`load_coco_people`
        seeds (Sequence[int]): Noise seeds
        noise (MapNoise): The noise. Defaults to ``NOISE``
        map_size (int): The side of the maps. Defaults to ``HEATMAP_SIZE``
        max_maps (int, optional): Render only the first maps

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
        for image in images[
            : None if max_maps is None else max_maps - len(samples)
        ]:
            heatmap, tag = render_ae_maps(
                image['keypoints'] / stride,
                (HEATMAP_SIZE, HEATMAP_SIZE),
                image['visible'],
                sigma=2,
                noise=noise,
                seed=seed * 100003 + image['image_id'] % 100003,
            )
            samples.append(
                dict(image, image_id=image['image_id'] * len(seeds) + index)
            )
            heatmaps.append(heatmap)
            tags.append(tag)
    heatmaps, tags = (
        torch.from_numpy(np.stack(maps)) for maps in (heatmaps, tags)
    )
    if map_size != HEATMAP_SIZE:
        heatmaps, tags = (
            F.interpolate(maps, size=(map_size, map_size), mode='bilinear')
            for maps in (heatmaps, tags)
        )
    return samples, heatmaps, tags


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
    setting: str = 'default',
    map_size: int = HEATMAP_SIZE,
    max_maps: Union[int, None] = None,
) -> dict:
    """Time and score both decoders on the maps of every image and seed.

    Both decode every map, ``batch_size`` maps per ``batch_decode`` call
    (at most all maps), in passes over all maps that alternate between ours
    and mmpose's (see :func:`~tools.benchmark.common.time_interleaved`);
    ms/image is the sum over calls of their median time over ``repeat``
    rounds, divided by the number of maps. mmpose's codec works in NumPy: it
    gets the maps on the CPU, ours on ``device``.

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
        setting (str): A key of ``SETTINGS``. Defaults to ``'default'``
        map_size (int): The side of the maps. Defaults to ``HEATMAP_SIZE``
        max_maps (int, optional): Use only the first maps (of the first
            seed first)

    Returns:
        dict: ``settings``, ``inputs`` (image, map and people counts),
        ``groups`` (when refine off runs: our groups and missing keypoints
        per map, which the refine fills), ``cases`` (one per refine setting
        and batch size: ms/image of both and ``speedup``), ``accuracy``
        (per refine setting: the AP of both) and ``machine``
    """
    noise, per_map = (
        SETTINGS[setting]['noise'],
        SETTINGS[setting]['images_per_map'],
    )
    images = load_coco_people(ann_file, INPUT_SIZE)[:max_images]
    if SETTINGS[setting].get('typical_people'):
        images = typical_images(images)
    samples, heatmaps, tags = render_inputs(
        compose_images(images, per_map), seeds, noise, map_size, max_maps
    )
    device_heatmaps, device_tags = heatmaps.to(device), tags.to(device)
    num_maps = len(samples)
    cases, accuracy, groups = [], [], {}
    for refine in refines:
        ours, theirs = build_codecs(refine, map_size)
        decoded = decode_all(ours, device_heatmaps, device_tags, 1)
        if not refine:
            # Without the fill a missing keypoint scores 0: these are the
            # keypoints the refine fills (the same groups either way).
            groups = dict(
                groups_per_map=sum(map(len, decoded[2])) / num_maps,
                missing_per_map=sum(
                    int((scores == 0).sum()) for scores in decoded[1]
                )
                / num_maps,
            )
        our_ap = coco_keypoint_ap(samples, to_detections(samples, *decoded))
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
                    batch_size=min(batch_size, num_maps),
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
        setting=setting,
        map_size=map_size,
        settings=dict(
            codec_settings(map_size=map_size),
            noise=noise.__dict__,
            images_per_map=per_map,
            typical_people=bool(SETTINGS[setting].get('typical_people')),
            seeds=list(seeds),
            repeat=repeat,
            warmup=warmup,
        ),
        inputs=dict(
            ann_file=str(ann_file),
            images=len(images),
            maps=num_maps,
            # Each rendered image's people once, whatever its seeds.
            people=sum(
                {
                    sample['image_id'] // len(seeds): len(sample['keypoints'])
                    for sample in samples
                }.values()
            ),
        ),
        groups=groups,
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
    parser.add_argument(
        '--settings',
        nargs='+',
        choices=list(SETTINGS),
        default=list(SETTINGS),
        help='map settings to run (default: all)',
    )
    parser.add_argument(
        '--sizes',
        type=int,
        nargs='+',
        default=list(MAP_SIZES),
        help='map sides to run (default: 128 512)',
    )
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 16])
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument(
        '--maps-512',
        type=int,
        default=6,
        help='maps per setting at sizes above 128 (mmpose decodes a 512x512 '
        'map in about 0.3 s); 0 for all',
    )
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='where our decoder gets the maps (mmpose decodes on the CPU)',
    )
    return parser.parse_args()


def main():
    args = parse_args()
    common.set_threads(args.threads)
    results = [
        run_decode_benchmark(
            args.ann_file,
            seeds=args.seeds,
            batch_sizes=args.batch_sizes,
            repeat=args.repeat,
            warmup=args.warmup,
            device=args.device,
            setting=setting,
            map_size=size,
            max_maps=(args.maps_512 or None if size > HEATMAP_SIZE else None),
        )
        for setting in args.settings
        for size in args.sizes
    ]
    inputs = ', '.join(
        f'{result["setting"]} {result["map_size"]}: '
        f'{result["inputs"]["maps"]} maps ({result["inputs"]["people"]} '
        'people'
        + (
            ', {groups_per_map:.1f} groups and {missing_per_map:.0f} missing '
            'keypoints per map'.format(**result['groups'])
            if result['groups']
            else ''
        )
        + ')'
        for result in results
    )
    common.report(
        dict(
            benchmark='decode', results=results, machine=results[0]['machine']
        ),
        args.out,
        f'{inputs}; seeds {args.seeds}, K=17',
        common.format_table(
            [
                'setting',
                'size',
                'refine',
                'batch',
                'ours ms/image',
                'mmpose ms/image',
                'speedup',
            ],
            [
                [
                    result['setting'],
                    result['map_size'],
                    'on' if case['refine'] else 'off',
                    case['batch_size'],
                    case['ours_ms_per_image'],
                    case['mmpose_ms_per_image'],
                    case['speedup'],
                ]
                for result in results
                for case in result['cases']
            ],
        ),
        common.format_table(
            ['setting', 'size', 'refine', 'ours COCO AP', 'mmpose COCO AP'],
            [
                [
                    result['setting'],
                    result['map_size'],
                    'on' if row['refine'] else 'off',
                    row['ours_ap'],
                    row['mmpose_ap'],
                ]
                for result in results
                for row in result['accuracy']
            ],
        ),
    )


if __name__ == '__main__':
    main()
