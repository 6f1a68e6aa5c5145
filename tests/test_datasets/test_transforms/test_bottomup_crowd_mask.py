import copy

import cv2
import numpy as np
import pycocotools.mask as cocomask
import pytest

from aeplugin.datasets.transforms import BottomupCrowdMask

from ..utils import (
    CROWD_IMAGE_ID,
    coco_mini_dataset,
    coco_test_dataset,
    index_of,
    targets_pipeline,
)

W = H = 128
# original-image pixels kept clear of region borders before the expected
# mask value is asserted (a heatmap pixel spans about 5 of them here)
MARGIN = 8


def _sample(dataset, img_id, seed):
    np.random.seed(seed)
    return dataset[index_of(dataset, img_id)]


def _rasterise(segs, img_h, img_w):
    """Union of COCO segmentations (polygons or uncompressed RLE)."""
    mask = np.zeros((img_h, img_w), np.uint8)
    for seg in segs:
        rles = cocomask.frPyObjects(seg, img_h, img_w)
        rles = rles if isinstance(rles, list) else [rles]
        for rle in rles:
            mask |= cocomask.decode(rle)
    return mask


def _heatmap_to_image(results, img_h, img_w):
    """Original-image coordinates of every heatmap pixel centre."""
    input_w, input_h = results['input_size']
    warp = np.vstack([results['warp_mat'], [0.0, 0.0, 1.0]])
    warp = np.diag([W / input_w, H / input_h, 1.0]) @ warp
    ys, xs = np.mgrid[:H, :W]
    pts = np.stack([xs.ravel(), ys.ravel(), np.ones(H * W)])
    x, y, _ = np.linalg.inv(warp) @ pts
    return x.reshape(H, W), y.reshape(H, W)


def _expected_regions(results, segs, margin=MARGIN):
    """Heatmap pixels deep inside the invalid regions, and those clear of
    them and of the image border (by ``margin`` original pixels)."""
    img_h, img_w = results['ori_shape']
    invalid = _rasterise(segs, img_h, img_w)
    inside = cv2.distanceTransform(invalid, cv2.DIST_L2, 5) > margin
    padded = np.pad(1 - invalid, 1)  # the border counts as a region edge
    clear = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    clear = clear > margin
    x, y = _heatmap_to_image(results, img_h, img_w)
    xi, yi = np.round(x).astype(int), np.round(y).astype(int)
    in_image = (xi >= 0) & (xi < img_w) & (yi >= 0) & (yi < img_h)
    xi, yi = xi.clip(0, img_w - 1), yi.clip(0, img_h - 1)
    deep = in_image & inside[yi, xi]
    far = in_image & clear[yi, xi]
    off_image = (
        (x < -margin)
        | (x > img_w + margin)
        | (y < -margin)
        | (y > img_h + margin)
    )
    return deep, far, off_image


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_crowd_region_is_masked_after_the_affine(seed):
    results = _sample(
        coco_mini_dataset(targets_pipeline()), CROWD_IMAGE_ID, seed
    )
    raw = results['raw_ann_info']
    crowds = [a['segmentation'] for a in raw if a['iscrowd']]
    assert len(crowds) == 1 and isinstance(crowds[0], dict)
    deep, far, off_image = _expected_regions(results, results['invalid_segs'])
    deep_crowd, _, _ = _expected_regions(results, crowds)

    mask = results['heatmap_mask']
    assert mask.shape == (1, H, W) and mask.dtype == np.float32
    assert deep_crowd.sum() > 150  # the crowd covers much of the heatmap
    assert far.sum() > 300
    np.testing.assert_array_equal(mask[0][deep_crowd], 0.0)
    np.testing.assert_array_equal(mask[0][deep], 0.0)
    np.testing.assert_array_equal(mask[0][far], 1.0)
    np.testing.assert_array_equal(mask[0][off_image], 0.0)


def test_unlabelled_person_polygon_is_masked():
    """People annotated without keypoints (polygons) are ignored too."""
    dataset = coco_mini_dataset(targets_pipeline())
    results = _sample(dataset, 113488, seed=3)
    zero_kpt = [a for a in results['raw_ann_info'] if a['num_keypoints'] == 0]
    assert len(zero_kpt) == 3 and not any(a['iscrowd'] for a in zero_kpt)
    assert results['invalid_segs'] == [a['segmentation'] for a in zero_kpt]
    deep, far, _ = _expected_regions(
        results, results['invalid_segs'], margin=4
    )
    assert deep.sum() >= 10
    np.testing.assert_array_equal(results['heatmap_mask'][0][deep], 0.0)
    np.testing.assert_array_equal(results['heatmap_mask'][0][far], 1.0)


def test_mmpose_heatmap_mask_ignores_crowd_rle():
    """Why the plugin has its own mask: mmpose's BottomupGetHeatmapMask
    keeps the crowd (an RLE dict) as trainable background. (With any
    polygon among the segments it does not run at all here: xtcocotools
    fails to decode under numpy 2.)"""
    from mmpose.datasets.transforms import BottomupGetHeatmapMask

    results = _sample(coco_mini_dataset(targets_pipeline()), CROWD_IMAGE_ID, 0)
    crowds = [
        a['segmentation'] for a in results['raw_ann_info'] if a['iscrowd']
    ]
    deep_crowd, _, _ = _expected_regions(results, crowds)
    theirs = copy.deepcopy(results)
    theirs['invalid_segs'] = crowds
    theirs = BottomupGetHeatmapMask()(theirs)
    assert theirs['heatmap_mask'][deep_crowd].mean() > 0.95
    assert not results['heatmap_mask'][0][deep_crowd].any()


def test_compressed_rle_gives_the_same_mask():
    results = _sample(coco_mini_dataset(targets_pipeline()), CROWD_IMAGE_ID, 0)
    img_h, img_w = results['ori_shape']
    compressed = []
    for seg in results['invalid_segs']:
        if isinstance(seg, dict):
            rle = cocomask.frPyObjects(seg, img_h, img_w)
            seg = dict(size=rle['size'], counts=rle['counts'].decode())
        compressed.append(seg)
    again = copy.deepcopy(results)
    again['invalid_segs'] = compressed
    again = BottomupCrowdMask()(again)
    np.testing.assert_array_equal(
        again['heatmap_mask'], results['heatmap_mask']
    )


def test_mask_without_invalid_people_keeps_the_image():
    results = _sample(coco_test_dataset(targets_pipeline()), 785, seed=4)
    assert results['invalid_segs'] == []
    deep, far, off_image = _expected_regions(results, [])
    assert not deep.any()
    np.testing.assert_array_equal(results['heatmap_mask'][0][far], 1.0)
    np.testing.assert_array_equal(results['heatmap_mask'][0][off_image], 0.0)


def _bare_results(**extra):
    results = dict(
        ori_shape=(40, 60),
        input_size=(16, 16),
        warp_mat=np.eye(2, 3, dtype=np.float32),
        heatmaps=np.zeros((17, 4, 4), np.float32),
    )
    results.update(extra)
    return results


def test_mask_rejects_bad_input():
    with pytest.raises(ValueError, match='threshold'):
        BottomupCrowdMask(threshold=1.0)
    with pytest.raises(ValueError, match='GenerateTarget'):
        BottomupCrowdMask()(_bare_results(heatmaps=None))
    with pytest.raises(ValueError, match='BottomupRandomAffine'):
        results = _bare_results()
        del results['warp_mat']
        BottomupCrowdMask()(results)
    with pytest.raises(TypeError, match=r'invalid_segs\[0\].*str'):
        BottomupCrowdMask()(_bare_results(invalid_segs=['polygon']))
    with pytest.raises(ValueError, match=r'size \[10, 10\].*\[40, 60\]'):
        BottomupCrowdMask()(
            _bare_results(invalid_segs=[dict(size=[10, 10], counts=[100])])
        )
    with pytest.raises(ValueError, match=r'warp_mat.*\(2, 2\)'):
        BottomupCrowdMask()(_bare_results(warp_mat=np.eye(2)))


def test_segmentation_less_instances_add_nothing():
    results = BottomupCrowdMask()(_bare_results(invalid_segs=[None, []]))
    # identity warp, heatmap 4x4 over a 16x16 input: heatmap pixel j reads
    # original pixel 4 j, inside the 60x40 image everywhere
    np.testing.assert_array_equal(
        results['heatmap_mask'], np.ones((1, 4, 4), np.float32)
    )


def test_each_heatmap_key_gets_the_mask_of_its_own_size():
    """The 1/2 mask of a real crowd image equals the mask computed for a
    heatmap of that size alone."""
    results = _sample(coco_mini_dataset(targets_pipeline()), CROWD_IMAGE_ID, 0)
    K, h, w = results['heatmaps'].shape
    both = copy.deepcopy(results)
    both['heatmaps_2x'] = np.zeros((K, 2 * h, 2 * w), np.float32)
    both = BottomupCrowdMask(heatmap_keys=('heatmaps', 'heatmaps_2x'))(both)
    np.testing.assert_array_equal(
        both['heatmap_mask'], results['heatmap_mask']
    )
    alone = copy.deepcopy(results)
    alone['heatmaps'] = both['heatmaps_2x']
    alone = BottomupCrowdMask()(alone)
    assert both['heatmap_mask_2x'].shape == (1, 2 * h, 2 * w)
    np.testing.assert_array_equal(
        both['heatmap_mask_2x'], alone['heatmap_mask']
    )
    # a crowd covers part of the image: the mask is not all ones
    assert 0 < both['heatmap_mask_2x'].mean() < 1
    with pytest.raises(ValueError, match='heatmap_keys'):
        BottomupCrowdMask(heatmap_keys=('masks',))
    with pytest.raises(ValueError, match='`heatmaps_2x`'):
        BottomupCrowdMask(heatmap_keys=('heatmaps', 'heatmaps_2x'))(
            _bare_results()
        )
