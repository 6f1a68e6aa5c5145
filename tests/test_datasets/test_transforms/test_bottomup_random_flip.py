import copy

import numpy as np
import pytest
from mmengine.registry import DefaultScope

from aeplugin.datasets.transforms import BottomupRandomFlip
from aeplugin.registry import TRANSFORMS

from ..utils import (
    COCO_FLIP_INDICES,
    CROWD_IMAGE_ID,
    affine_pipeline,
    coco_mini_dataset,
    coco_test_dataset,
    encoding_pipeline,
    index_of,
)

INPUT = 512
W = H = 128
STRIDE = INPUT // W


@pytest.fixture(scope='module')
def samples():
    """mmpose's 4 test images and a crowd image after a seeded affine."""
    with DefaultScope.overwrite_default_scope('aeplugin'):
        np.random.seed(0)
        test_ds = coco_test_dataset(affine_pipeline())
        mini_ds = coco_mini_dataset(affine_pipeline())
        samples = [test_ds[i] for i in range(len(test_ds))]
        samples.append(mini_ds[index_of(mini_ds, CROWD_IMAGE_ID)])
        return samples


def _flip(results, prob):
    return BottomupRandomFlip(prob=prob)(copy.deepcopy(results))


def _encode(results):
    with DefaultScope.overwrite_default_scope('aeplugin'):
        for cfg in encoding_pipeline():
            results = TRANSFORMS.build(cfg)(results)
    return results


def test_dataset_provides_coco_flip_pairs(samples):
    for results in samples:
        assert list(results['flip_indices']) == COCO_FLIP_INDICES


def test_flip_mirrors_image_keypoints_and_labels(samples):
    for results in samples:
        kept = _flip(results, prob=0.0)
        flipped = _flip(results, prob=1.0)
        assert kept['flip'] is False and flipped['flip'] is True
        assert flipped['flip_direction'] == 'horizontal'
        np.testing.assert_array_equal(kept['img'], results['img'])
        np.testing.assert_array_equal(flipped['img'], results['img'][:, ::-1])

        # a left keypoint of the flipped sample is the mirrored right one,
        # mirrored on the image's pixel grid
        source = results['keypoints'][:, COCO_FLIP_INDICES]
        np.testing.assert_allclose(
            flipped['keypoints'][..., 0], INPUT - 1 - source[..., 0]
        )
        np.testing.assert_array_equal(
            flipped['keypoints'][..., 1], source[..., 1]
        )
        np.testing.assert_array_equal(
            flipped['keypoints_visible'],
            results['keypoints_visible'][:, COCO_FLIP_INDICES],
        )


def test_flipped_targets_are_the_unflipped_targets_mirrored(samples):
    """The issue's check, on the codec's pixel convention: a flipped sample
    encodes the mirror of each keypoint about the image's axis, so both
    samples put input pixel x at heatmap pixel round(x / stride). On the
    heatmap grid that is the array mirror moved by (stride - 1) / stride
    pixels (0.75, rounded per keypoint); mirroring the encoded targets as
    arrays would teach flipped samples a different convention."""
    shifts = []
    for results in samples:
        kept = _encode(_flip(results, prob=0.0))
        flipped = _encode(_flip(results, prob=1.0))
        mirrored = kept['keypoints'][:, COCO_FLIP_INDICES].copy()
        mirrored[..., 0] = INPUT - 1 - mirrored[..., 0]
        cell = np.floor(mirrored / STRIDE + 0.5).astype(np.int64)
        source = kept['keypoint_indices'][:, COCO_FLIP_INDICES]
        ours = flipped['keypoint_indices']
        both = (ours[..., 1] > 0) & (source[..., 1] > 0)
        assert both.sum() > 0
        np.testing.assert_array_equal(
            ours[..., 0][both], (cell[..., 1] * W + cell[..., 0])[both]
        )
        # every visible index sits on its Gaussian's peak
        n, k = np.nonzero(both)
        peaks = flipped['heatmaps'].reshape(17, -1)[k, ours[n, k, 0]]
        np.testing.assert_array_equal(peaks, 1.0)
        shifts.append(
            ours[..., 0][both] % W - (W - 1 - source[..., 0][both] % W)
        )
    shifts = np.concatenate(shifts)
    assert set(np.unique(shifts)) <= {0, 1}
    assert 0.6 < shifts.mean() < 0.9, shifts.mean()


def test_flipped_mask_is_the_unflipped_mask_mirrored(samples):
    """The mirror folded into warp_mat moves the ignore mask with the image:
    the crowd region lands where the array mirror puts it, up to the
    sub-pixel offset at its edge."""
    crowd = _encode(_flip(samples[-1], prob=0.0))['heatmap_mask'][0]
    flipped = _encode(_flip(samples[-1], prob=1.0))['heatmap_mask'][0]
    assert (crowd == 0).sum() > 200
    mirrored = crowd[:, ::-1]
    agree = (flipped == mirrored).mean()
    assert agree > 0.97, agree
    # and not the unflipped mask, which mmpose's RandomFlip would leave
    assert (flipped != crowd).sum() > 100


def test_flip_twice_is_the_identity(samples):
    for results in samples:
        twice = _flip(_flip(results, prob=1.0), prob=1.0)
        np.testing.assert_array_equal(twice['img'], results['img'])
        np.testing.assert_allclose(
            twice['keypoints'], results['keypoints'], atol=1e-4
        )
        np.testing.assert_allclose(
            twice['warp_mat'], results['warp_mat'], atol=1e-4
        )


def test_keypoints_match_mmpose_random_flip(samples):
    """On a square input our mirror is mmpose's (x -> w - 1 - x); ours also
    moves warp_mat, theirs leaves it."""
    from mmpose.datasets.transforms import RandomFlip

    for results in samples:
        theirs = RandomFlip(prob=1.0)(copy.deepcopy(results))
        ours = _flip(results, prob=1.0)
        np.testing.assert_allclose(
            ours['keypoints'], theirs['keypoints'], atol=1e-4
        )
        np.testing.assert_array_equal(ours['img'], theirs['img'])
        assert not np.allclose(ours['warp_mat'], theirs['warp_mat'])


def test_flip_draws_with_probability():
    results = dict(
        img=np.zeros((8, 8, 3), np.uint8), flip_indices=COCO_FLIP_INDICES
    )
    np.random.seed(1)
    transform = BottomupRandomFlip(prob=0.3)
    flips = [transform(copy.deepcopy(results))['flip'] for _ in range(400)]
    assert 0.24 < np.mean(flips) < 0.36


def test_flip_mirrors_boxes_edges_and_corners():
    results = dict(
        img=np.zeros((40, 100, 3), np.uint8),
        flip_indices=COCO_FLIP_INDICES,
        bbox=np.array([[10.0, 20.0, 30.0, 35.0]], np.float32),
    )
    out = BottomupRandomFlip(prob=1.0)(copy.deepcopy(results))
    np.testing.assert_allclose(out['bbox'], [[70.0, 20.0, 90.0, 35.0]])
    results['bbox'] = np.array(
        [[[10.0, 20.0], [10.0, 35.0], [30.0, 20.0], [30.0, 35.0]]],
        np.float32,
    )
    out = BottomupRandomFlip(prob=1.0)(results)
    np.testing.assert_allclose(out['bbox'][0, :, 0], [89.0, 89.0, 69.0, 69.0])


def test_flip_rejects_bad_input():
    with pytest.raises(ValueError, match='prob'):
        BottomupRandomFlip(prob=1.5)
    results = dict(
        img=np.zeros((8, 8, 3), np.uint8),
        keypoints=np.zeros((1, 17, 2), np.float32),
        flip_indices=COCO_FLIP_INDICES,
    )
    with pytest.raises(ValueError, match='before GenerateTarget'):
        BottomupRandomFlip(prob=1.0)(
            dict(results, heatmaps=np.zeros((17, 2, 2), np.float32))
        )
    with pytest.raises(ValueError, match=r'flip_indices has 16.*\(1, 17, 2\)'):
        BottomupRandomFlip(prob=1.0)(
            dict(results, flip_indices=COCO_FLIP_INDICES[:-1])
        )
    with pytest.raises(ValueError, match=r'warp_mat.*\(2, 2\)'):
        BottomupRandomFlip(prob=1.0)(dict(results, warp_mat=np.eye(2)))
