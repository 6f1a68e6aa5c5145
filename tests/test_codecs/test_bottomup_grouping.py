from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpose.codecs import AssociativeEmbedding

from aeplugin.codecs import BottomupGrouping
from aeplugin.registry import KEYPOINT_CODECS
from aeplugin.testing import (
    COCO_ORDER,
    COCO_SIGMAS,
    MapNoise,
    coco_keypoint_ap,
    load_coco_people,
    render_ae_maps,
    to_detections,
)

COCO_JSON = Path(__file__).parents[1] / 'data' / 'coco' / 'test_coco.json'
INPUT_SIZE = 512
HEATMAP_SIZE = 128
STRIDE = INPUT_SIZE // HEATMAP_SIZE


@pytest.fixture(scope='module')
def coco_images():
    """The labelled people of each image of tests/data/coco, scaled so that
    the longer image side spans the 512-pixel codec input.

    Each image is a dict with ``image_id``, ``keypoints`` (N, 17, 2) and
    ``visible`` (N, 17) (COCO flags 0/1/2) in the input space, ``area``
    (N, ) and ``bbox`` (N, 4) scaled alike, for its N non-crowd people with
    at least one labelled keypoint.
    """
    images = load_coco_people(COCO_JSON, INPUT_SIZE)
    assert len(images) == 4
    return images


def _codec_args(**kwargs):
    """The same settings for ours and mmpose's codec."""
    return dict(
        dict(
            input_size=(INPUT_SIZE, INPUT_SIZE),
            heatmap_size=(HEATMAP_SIZE, HEATMAP_SIZE),
            sigma=2,
            decode_keypoint_order=COCO_ORDER,
        ),
        **kwargs,
    )


def make_codec(**kwargs):
    return BottomupGrouping(**_codec_args(**kwargs))


def make_mmpose_codec(**kwargs):
    return AssociativeEmbedding(**_codec_args(**kwargs))


def render(keypoints, visible, **kwargs):
    """Render AE maps of people given in the input space, as a batch of 1."""
    heatmaps, tags = render_ae_maps(
        keypoints / STRIDE,
        (HEATMAP_SIZE, HEATMAP_SIZE),
        visible,
        sigma=2,
        **kwargs,
    )
    return torch.from_numpy(heatmaps)[None], torch.from_numpy(tags)[None]


def oks(pred, gt, visible, area):
    """COCO object keypoint similarity of (K, 2) keypoints over the
    labelled ones."""
    variances = (2 * COCO_SIGMAS) ** 2
    errors = ((pred - gt) ** 2).sum(-1) / variances / (area + 1e-9) / 2
    return np.exp(-errors)[visible > 0].mean()


def best_oks(pred_keypoints, image):
    """The OKS of each ground-truth person to its best decoded person and
    the index of that person."""
    table = np.array(
        [
            [oks(pred, gt, vis, area) for pred in pred_keypoints]
            for gt, vis, area in zip(
                image['keypoints'], image['visible'], image['area']
            )
        ]
    )
    return table.max(axis=1), table.argmax(axis=1)


def test_builds_from_registry_and_packs_targets_where_head_reads_them():
    from mmpose.datasets.transforms import GenerateTarget, PackPoseInputs

    with DefaultScope.overwrite_default_scope('aeplugin'):
        codec = KEYPOINT_CODECS.build(
            dict(
                type='BottomupGrouping',
                input_size=(64, 64),
                heatmap_size=(16, 16),
            )
        )
        assert isinstance(codec, BottomupGrouping)
        assert codec.support_batch_decoding
        results = dict(
            img=np.zeros((64, 64, 3), dtype=np.uint8),
            keypoints=np.array([[[10.0, 12.0], [30.0, 40.0], [70.0, 5.0]]]),
            keypoints_visible=np.array([[1.0, 1.0, 1.0]]),
        )
        results = GenerateTarget(
            encoder=dict(
                type='BottomupGrouping',
                input_size=(64, 64),
                heatmap_size=(16, 16),
            )
        )(results)
        packed = PackPoseInputs()(results)
    sample = packed['data_samples']
    assert sample.gt_fields.heatmaps.shape == (3, 16, 16)
    # (10, 12) / 4 -> (2.5, 3) -> rounded (3, 3) -> 3 * 16 + 3; the third
    # keypoint is outside the heatmap.
    assert sample.gt_instance_labels.keypoint_indices.tolist() == [
        [[51, 1], [10 * 16 + 8, 1], [1 * 16 + 18, 0]]
    ]
    assert sample.gt_instance_labels.keypoint_weights.tolist() == [
        [1.0, 1.0, 0.0]
    ]
    assert sample.gt_instances.keypoints.shape == (1, 3, 2)
    # declared but absent (no BottomupCrowdMask, no boxes): nothing packed
    assert 'heatmap_mask' not in sample.gt_fields
    assert 'bboxes' not in sample.gt_instances


def test_mapping_tables_pack_the_mask_and_boxes_with_mmposes_packing():
    """mmpose's PackPoseInputs packs only the codec's tables: the mask a
    later transform adds and the dataset's boxes must be declared there."""
    from mmpose.datasets.transforms import GenerateTarget, PackPoseInputs

    codec = dict(type='BottomupGrouping', input_size=(64, 64))
    with DefaultScope.overwrite_default_scope('aeplugin'):
        results = GenerateTarget(encoder=dict(codec, heatmap_size=(16, 16)))(
            dict(
                img=np.zeros((64, 64, 3), dtype=np.uint8),
                keypoints=np.array([[[10.0, 12.0], [30.0, 40.0]]]),
                keypoints_visible=np.array([[1.0, 1.0]]),
                bbox=np.array([[5.0, 6.0, 35.0, 45.0]]),
                bbox_score=np.array([0.75]),
            )
        )
        mask = np.ones((1, 16, 16), dtype=np.float32)
        mask[0, :4] = 0  # as BottomupCrowdMask adds it, after the targets
        results['heatmap_mask'] = mask
        sample = PackPoseInputs()(results)['data_samples']
    np.testing.assert_array_equal(sample.gt_fields.heatmap_mask, mask)
    assert sample.gt_instances.bboxes.tolist() == [[5.0, 6.0, 35.0, 45.0]]
    assert sample.gt_instances.bbox_scores.tolist() == [0.75]
    assert sample.gt_instance_labels.keypoint_indices.shape == (1, 2, 2)


@pytest.mark.parametrize(
    'kwargs, name',
    [
        (dict(input_size=(512,)), 'input_size'),
        (dict(heatmap_size=(0, 128)), 'heatmap_size'),
        (dict(sigma=-1.0), 'sigma'),
        (dict(use_udp='yes'), 'use_udp'),
        (dict(decode_keypoint_order=[0, 0, 1]), 'decode_keypoint_order'),
        (dict(decode_nms_kernel=4), 'decode_nms_kernel'),
        (dict(decode_gaussian_kernel=0), 'decode_gaussian_kernel'),
        (dict(decode_keypoint_thr=float('nan')), 'decode_keypoint_thr'),
        (dict(decode_tag_thr=0.0), 'decode_tag_thr'),
        (dict(decode_topk=0), 'decode_topk'),
        (dict(decode_center_shift=None), 'decode_center_shift'),
        (dict(decode_max_instances=0), 'decode_max_instances'),
        (dict(adjust=1), 'adjust'),
        (dict(refine=None), 'refine'),
    ],
)
def test_invalid_arguments_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_codec(**kwargs)


@pytest.mark.parametrize('use_udp', [False, True])
def test_encode_equals_mmpose_on_coco_people(coco_images, use_udp):
    keypoints = np.concatenate([im['keypoints'] for im in coco_images])
    visible = np.concatenate([im['visible'] for im in coco_images])
    # Push some people partly or wholly off the heatmap and mark some
    # keypoints invisible to cover the weight and index rules.
    keypoints[1] += (-300, 0)
    keypoints[2] += (0, 400)
    keypoints[3] -= (40, 60)
    visible[4, :5] = 0
    keypoints = keypoints.astype(np.float32)
    visible = (visible > 0).astype(np.float32)

    ours = make_codec(use_udp=use_udp).encode(keypoints, visible)
    theirs = make_mmpose_codec(use_udp=use_udp).encode(keypoints, visible)

    assert ours['heatmaps'].dtype == np.float32
    assert ours['heatmaps'].shape == (17, HEATMAP_SIZE, HEATMAP_SIZE)
    assert ours['heatmaps'].max() == pytest.approx(1.0, abs=0.1)
    np.testing.assert_allclose(
        ours['heatmaps'], theirs['heatmaps'], rtol=1e-6, atol=1e-7
    )
    assert ours['keypoint_indices'].dtype == np.int64
    np.testing.assert_array_equal(
        ours['keypoint_indices'], theirs['keypoint_indices']
    )
    assert ours['keypoint_weights'].dtype == np.float32
    np.testing.assert_array_equal(
        ours['keypoint_weights'], theirs['keypoint_weights']
    )
    assert 0 < ours['keypoint_indices'][..., 1].sum() < visible.sum()


def test_encode_rejects_bad_input():
    codec = make_codec()
    with pytest.raises(ValueError, match=r'keypoints must have shape'):
        codec.encode(np.zeros((2, 17)))
    with pytest.raises(ValueError, match=r'keypoints_visible must have'):
        codec.encode(np.zeros((2, 17, 2)), np.ones((2, 16)))
    with pytest.raises(ValueError, match=r'keypoints contains NaN'):
        codec.encode(np.full((1, 17, 2), np.nan))
    encoded = codec.encode(np.zeros((0, 17, 2)))
    assert encoded['heatmaps'].shape == (17, 128, 128)
    assert not encoded['heatmaps'].any()
    assert encoded['keypoint_indices'].shape == (0, 17, 2)


def test_round_trip_of_perfect_maps_recovers_every_person(coco_images):
    codec = make_codec()
    for image in coco_images:
        heatmaps, tags = render(image['keypoints'], image['visible'])
        keypoints, keypoint_scores, instance_scores = codec.batch_decode(
            heatmaps, tags
        )
        keypoints, keypoint_scores = keypoints[0], keypoint_scores[0]
        num_people = len(image['keypoints'])
        assert keypoints.shape == (num_people, 17, 2)
        assert keypoint_scores.shape == (num_people, 17)
        assert instance_scores[0].shape == (num_people,)
        assert np.all(np.diff(instance_scores[0]) <= 0)
        similarity, match = best_oks(keypoints, image)
        assert sorted(match) == list(range(num_people))
        assert similarity.min() > 0.95, similarity
        # The quarter offset leaves at most a quarter heatmap pixel of error
        # on an isolated peak; the overlapping Gaussians of nearby people
        # can tilt it, not by more than half a pixel.
        errors = np.abs(keypoints[match] - image['keypoints'])
        errors = errors[image['visible'] > 0]
        assert np.median(errors) <= 0.25 * STRIDE
        assert errors.max() <= 0.5 * STRIDE


def test_equal_tags_lose_no_peak(coco_images):
    """Two far-apart people with the same tag cannot be told apart by their
    tags, so how their keypoints split between the two decoded people is
    arbitrary; but no peak may be lost or overwritten: each appears in
    exactly one decoded person, as the greedy grouping starts a new group
    for every candidate it cannot match. mmpose keys its groups by the tag
    value and silently loses keypoints here."""
    image = coco_images[1]  # two separated people, a tag of 2 for both
    keypoints, visible = image['keypoints'], image['visible']
    heatmaps, tags = render(keypoints, visible, person_tags=[[2.0], [2.0]])
    peaks = {
        (k, *np.floor(xy / STRIDE + 0.5).astype(int))
        for n in range(2)
        for k in range(17)
        if visible[n, k] > 0
        for xy in [keypoints[n, k]]
    }

    decoded, scores, _ = make_codec(refine=False, adjust=False).batch_decode(
        heatmaps, tags
    )
    found = [
        (k, *np.round(xy / STRIDE).astype(int))
        for kpts, kpt_scores in zip(decoded[0], scores[0])
        for k, (xy, score) in enumerate(zip(kpts, kpt_scores))
        if score > 0
    ]
    assert len(decoded[0]) == 2
    assert len(found) == len(set(found)) == len(peaks)
    assert set(found) == peaks

    mmpose_people = make_mmpose_codec().batch_decode(
        heatmaps.clone(), tags.clone()
    )[0][0]
    assert len(mmpose_people) == 1


def test_max_instances_keeps_the_highest_scoring_people(coco_images):
    """A weak person is grouped first (it alone has a nose peak, the first
    keypoint type of the order); mmpose cuts in creation order and keeps
    it, we keep the two strong people."""
    image = coco_images[3]
    keypoints, visible = image['keypoints'][:3], image['visible'][:3].copy()
    heights = np.ones((3, 17))
    heights[2] = 0.3
    visible[:2, 0] = 0
    visible[2] = 2
    heatmaps, tags = render(keypoints, visible, keypoint_scores=heights)

    decoded, _, instance_scores = make_codec(
        decode_max_instances=2
    ).batch_decode(heatmaps, tags)
    similarity, match = best_oks(
        decoded[0],
        dict(keypoints=keypoints, visible=visible, area=image['area'][:3]),
    )
    assert len(decoded[0]) == 2
    assert set(match[:2]) == {0, 1}
    assert similarity[:2].min() > 0.95
    assert instance_scores[0][0] >= instance_scores[0][1] > 0.3

    all_scores = make_codec().batch_decode(heatmaps, tags)[2][0]
    np.testing.assert_allclose(all_scores[:2], instance_scores[0])
    assert all_scores[2] < instance_scores[0][1]

    _, _, mmpose_scores = make_mmpose_codec(
        decode_max_instances=2
    ).batch_decode(heatmaps.clone(), tags.clone())
    assert min(mmpose_scores[0]) < 0.31


def test_refine_fills_a_keypoint_below_threshold(coco_images):
    image = coco_images[0]
    keypoints, visible = image['keypoints'], image['visible']
    assert visible[0, 9] > 0
    heights = np.ones((1, 17))
    heights[0, 9] = 0.05  # below decode_keypoint_thr=0.1
    heatmaps, tags = render(keypoints, visible, keypoint_scores=heights)

    filled, filled_scores, filled_instance = make_codec().batch_decode(
        heatmaps, tags
    )
    missing, missing_scores, missing_instance = make_codec(
        refine=False
    ).batch_decode(heatmaps, tags)

    assert len(filled[0]) == len(missing[0]) == 1
    assert missing_scores[0][0, 9] == 0
    np.testing.assert_array_equal(missing[0][0, 9], [0, 0])
    assert filled_scores[0][0, 9] == pytest.approx(0.05, abs=0.005)
    np.testing.assert_allclose(
        filled[0][0, 9], keypoints[0, 9], atol=0.25 * STRIDE + 1e-4
    )
    others = np.arange(17) != 9
    np.testing.assert_array_equal(filled[0][0, others], missing[0][0, others])
    # The instance score comes from the grouped keypoints, as in mmpose.
    np.testing.assert_array_equal(filled_instance[0], missing_instance[0])
    assert filled_instance[0][0] == pytest.approx(
        (filled_scores[0][0].sum() - filled_scores[0][0, 9]) / 17
    )


def test_decode_accepts_float64_half_and_grad_tensors(coco_images):
    """Maps in float64 decode as their float32 values, half maps as theirs;
    a tensor that requires grad (a model output), channels-last maps (a
    channels-last model's output) and a view into wider maps decode as the
    contiguous ones, without a graph; the inputs are left unchanged."""
    image = coco_images[2]
    heatmaps, tags = render(
        image['keypoints'], image['visible'], noise=MapNoise(), seed=5
    )
    codec = make_codec()
    expected = codec.batch_decode(heatmaps, tags)
    assert len(expected[0][0]) > 0

    wider = torch.zeros(*heatmaps.shape[:3], heatmaps.shape[3] + 8)
    wider[..., 3:-5] = heatmaps
    outputs = [
        codec.batch_decode(heatmaps.double(), tags.double()),
        codec.batch_decode(
            heatmaps.clone().requires_grad_(), tags.clone().requires_grad_()
        ),
        codec.batch_decode(
            heatmaps.contiguous(memory_format=torch.channels_last),
            tags.contiguous(memory_format=torch.channels_last),
        ),
        codec.batch_decode(wider[..., 3:-5], tags),
    ]
    for output in outputs:
        for ours, reference in zip(output, expected):
            np.testing.assert_array_equal(ours[0], reference[0])
    half = codec.batch_decode(heatmaps.half(), tags.half())
    rounded = codec.batch_decode(heatmaps.half().float(), tags.half().float())
    for ours, reference in zip(half, rounded):
        np.testing.assert_array_equal(ours[0], reference[0])

    before = heatmaps.clone(), tags.clone()
    codec.batch_decode(heatmaps, tags)
    assert torch.equal(heatmaps, before[0]) and torch.equal(tags, before[1])


def test_two_dimensional_tags_separate_people_equal_in_one_dimension(
    coco_images,
):
    image = coco_images[3]
    keypoints, visible = image['keypoints'], image['visible']
    num_people = len(keypoints)
    person_tags = np.stack(
        [np.full(num_people, 3.0), 2.0 * np.arange(num_people)], axis=1
    )
    heatmaps, tags = render(keypoints, visible, person_tags=person_tags)
    assert tags.shape[1] == 2 * 17

    decoded = make_codec().batch_decode(heatmaps, tags)[0][0]
    similarity, match = best_oks(decoded, image)
    assert len(decoded) == num_people
    assert sorted(match) == list(range(num_people))
    assert similarity.min() > 0.95

    # With the dimensions laid out the other way round (channel k*L + l),
    # the codec reads dimension 0 from half the keypoints' tag maps of
    # dimension 1 and decodes wrong people.
    swapped = tags.view(1, 2, 17, 128, 128).transpose(1, 2).reshape(tags.shape)
    wrong = make_codec().batch_decode(heatmaps, swapped)[0][0]
    assert len(wrong) != num_people or best_oks(wrong, image)[0].min() < 0.9


def test_batch_decode_equals_single_decodes(coco_images):
    codec = make_codec()
    maps = [
        render(im['keypoints'], im['visible'], noise=MapNoise(), seed=seed)
        for seed, im in enumerate(coco_images[1:])
    ]
    batch = codec.batch_decode(
        torch.cat([m[0] for m in maps]), torch.cat([m[1] for m in maps])
    )
    for i, (heatmaps, tags) in enumerate(maps):
        single = codec.decode(heatmaps[0].numpy(), tags[0])
        for batched, alone in zip(batch, single):
            np.testing.assert_array_equal(batched[i], alone)
    assert sum(len(kpts) for kpts in batch[0]) > 8


def test_default_order_and_more_candidates_than_pixels():
    codec = BottomupGrouping((16, 16), (4, 4), sigma=0.5, decode_topk=30)
    heatmaps = torch.zeros(1, 2, 4, 4)
    heatmaps[0, 0, 1, 2] = heatmaps[0, 1, 3, 0] = 0.9
    heatmaps[0, 0, 1, 3] = heatmaps[0, 1, 3, 1] = 0.5
    tags = torch.full((1, 2, 4, 4), 5.0)
    keypoints, scores, instance_scores = codec.batch_decode(heatmaps, tags)
    # Peaks (2, 1) and (0, 3) times the stride 4; the first moves a quarter
    # pixel toward its higher right neighbour, the second lacks a left
    # neighbour and stays.
    np.testing.assert_allclose(keypoints[0], [[[9.0, 4.0], [0.0, 12.0]]])
    np.testing.assert_allclose(scores[0], [[0.9, 0.9]])
    np.testing.assert_allclose(instance_scores[0], [0.9])

    empty = codec.batch_decode(
        torch.zeros(2, 2, 4, 4), torch.zeros(2, 2, 4, 4)
    )
    assert [out.shape for out in empty[0]] == [(0, 2, 2)] * 2
    assert [out.shape for out in empty[1]] == [(0, 2)] * 2
    assert [out.shape for out in empty[2]] == [(0,)] * 2


@pytest.mark.parametrize(
    'heatmaps, tags, message',
    [
        (torch.zeros(2, 17, 8, 8), torch.zeros(1, 17, 8, 8), r'\(B=2'),
        (torch.zeros(1, 17, 8, 8), torch.zeros(1, 17, 8, 9), r'W=8'),
        (torch.zeros(1, 17, 8, 8), torch.zeros(1, 20, 8, 8), 'multiple'),
        (torch.zeros(17, 8, 8), torch.zeros(1, 17, 8, 8), 'batch_heatmaps'),
        (torch.zeros(1, 17, 8, 8), torch.zeros(1, 0, 8, 8), 'multiple'),
        (torch.zeros(1, 16, 8, 8), torch.zeros(1, 16, 8, 8), 'order'),
    ],
)
def test_decode_rejects_bad_shapes(heatmaps, tags, message):
    with pytest.raises(ValueError, match=message):
        make_codec().batch_decode(heatmaps, tags)


@pytest.mark.parametrize('bad', ['heatmaps', 'tags'])
@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_decode_rejects_non_finite_input(bad, value):
    inputs = dict(
        heatmaps=torch.zeros(1, 17, 8, 8), tags=torch.zeros(1, 17, 8, 8)
    )
    inputs[bad][0, 3, 2, 1] = value
    with pytest.raises(ValueError, match=f'batch_{bad} contains NaN or inf'):
        make_codec().batch_decode(inputs['heatmaps'], inputs['tags'])


def test_decode_rejects_non_tensors():
    with pytest.raises(TypeError, match='batch_heatmaps must be a torch'):
        make_codec().batch_decode(np.zeros((1, 17, 8, 8)), torch.zeros(1))


@pytest.mark.parametrize('use_udp', [False, True])
def test_adjusted_keypoints_equal_mmpose(coco_images, use_udp):
    """On maps with distinct tags the groups equal mmpose's, and the adjusted
    keypoints (quarter offset, or DARK-UDP with use_udp) plus the center
    shift must equal mmpose's for every grouped keypoint."""
    codec = make_codec(use_udp=use_udp, refine=False, decode_center_shift=0.5)
    reference = make_mmpose_codec(use_udp=use_udp, decode_center_shift=0.5)
    compared = 0
    for seed, image in enumerate(coco_images):
        heatmaps, tags = render(
            image['keypoints'],
            image['visible'],
            noise=MapNoise(false_peaks=0, drop_prob=0, weaken_prob=0),
            seed=seed,
        )
        ours, our_scores, _ = codec.batch_decode(heatmaps, tags)
        theirs, _, _ = reference.batch_decode(heatmaps.clone(), tags.clone())
        for kpts, scores in zip(ours[0], our_scores[0]):
            # mmpose emits groups in creation order: match by first keypoint.
            first = np.flatnonzero(scores > 0)[0]
            partner = np.argmin(
                np.abs(theirs[0][:, first] - kpts[first]).sum(-1)
            )
            present = scores > 0
            if not use_udp:
                # mmpose's refine_keypoints skips the x offset at x <= 1 and
                # the y offset at y <= 1 (`1 < x`, `1 < y`), and both at
                # x == 0 or y == 0 (`0 < y`, `0 < x`); ours skips an axis
                # only where a neighbour is missing.
                present &= (kpts / STRIDE - 0.5 > 1.5).all(axis=-1)
            np.testing.assert_allclose(
                kpts[present], theirs[0][partner][present], atol=1e-3
            )
            compared += present.sum()
    assert compared > 100


def test_ap_on_noisy_maps_is_at_least_mmpose(coco_images):
    """Both decoders see the same realistic noisy maps (weak, missing and
    false peaks, tag noise); ours must score at least mmpose's COCO AP."""
    codec = make_codec(decode_max_instances=30)
    reference = make_mmpose_codec(decode_max_instances=30)
    images, ours, theirs = [], [], []
    for seed in range(3):
        for image in coco_images:
            image = dict(image, image_id=image['image_id'] * 10 + seed)
            images.append(image)
            heatmaps, tags = render(
                image['keypoints'],
                image['visible'],
                noise=MapNoise(false_peaks=3),
                seed=seed,
            )
            ours += to_detections([image], *codec.batch_decode(heatmaps, tags))
            theirs += to_detections(
                [image],
                *reference.batch_decode(heatmaps.clone(), tags.clone()),
            )
    our_ap = coco_keypoint_ap(images, ours)
    mmpose_ap = coco_keypoint_ap(images, theirs)
    print(
        f'\nCOCO keypoint AP on noisy maps: ours {our_ap:.4f}, '
        f'mmpose {mmpose_ap:.4f}'
    )
    assert our_ap >= mmpose_ap
    assert our_ap > 0.5


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_decode_equals_cpu_decode(coco_images):
    codec = make_codec()
    image = coco_images[3]
    heatmaps, tags = render(
        image['keypoints'], image['visible'], noise=MapNoise(), seed=3
    )
    on_cpu = codec.batch_decode(heatmaps, tags)
    on_gpu = codec.batch_decode(heatmaps.cuda(), tags.cuda())
    for cpu_out, gpu_out in zip(on_cpu, on_gpu):
        np.testing.assert_allclose(cpu_out[0], gpu_out[0], atol=1e-4)
