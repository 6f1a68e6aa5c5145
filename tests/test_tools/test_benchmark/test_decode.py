from pathlib import Path

import numpy as np
import pytest
import torch

from aeplugin.testing import load_coco_people
from tools.benchmark.decode import (
    HEATMAP_SIZE,
    INPUT_SIZE,
    SETTINGS,
    compose_images,
    render_inputs,
    run_decode_benchmark,
    typical_images,
    typical_people_counts,
)

DATA = Path(__file__).parents[3] / 'data' / 'coco-mini' / 'annotations'
COCO_MINI = DATA / 'person_keypoints_train2017.json'
TEST_COCO = Path(__file__).parents[2] / 'data' / 'coco' / 'test_coco.json'


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_benchmark_maps_hold_the_real_people_of_coco_mini():
    images = load_coco_people(COCO_MINI)
    assert len(images) == 28
    assert sum(len(image['keypoints']) for image in images) == 86
    # Scaled so that the longer image side spans the 512 input.
    largest = max(image['keypoints'].max() for image in images)
    assert 400 < largest <= 512

    samples, heatmaps, tags = render_inputs(images[:2], seeds=(0, 1))
    assert heatmaps.shape == (4, 17, HEATMAP_SIZE, HEATMAP_SIZE)
    assert tags.shape == heatmaps.shape
    assert len({sample['image_id'] for sample in samples}) == 4
    # Each seed draws its own noise.
    assert not torch.equal(heatmaps[0], heatmaps[2])


def test_decode_benchmark_reports_speed_and_accuracy_of_both():
    """On the test images (the codec tests' maps but for the noise draws)
    ours must score at least mmpose's AP, refine on and off."""
    result = run_decode_benchmark(
        TEST_COCO, seeds=(0, 1, 2), batch_sizes=(1, 4), repeat=1, warmup=0
    )
    assert result['inputs'] == dict(
        ann_file=str(TEST_COCO), images=4, maps=12, people=12
    )
    assert [(c['refine'], c['batch_size']) for c in result['cases']] == [
        (True, 1),
        (True, 4),
        (False, 1),
        (False, 4),
    ]
    for case in result['cases']:
        assert case['ours_ms_per_image'] > 0
        assert case['mmpose_ms_per_image'] > 0
        assert case['speedup'] == pytest.approx(
            case['mmpose_ms_per_image'] / case['ours_ms_per_image']
        )
    for row in result['accuracy']:
        assert 0.3 < row['mmpose_ap'] <= row['ours_ap'] < 1
    assert {'cpu', 'torch', 'munkres', 'scipy'} <= set(result['machine'])
    assert result['settings']['decode_keypoint_order'][:3] == [0, 1, 2]
    assert np.isfinite(result['cases'][0]['ours_time']['median_s'])


def test_crowded_maps_hold_the_people_of_three_images():
    images = load_coco_people(COCO_MINI)
    crowded = compose_images(images, 3)
    assert len(crowded) == 10
    assert sum(len(image['keypoints']) for image in crowded) == 86
    # The images with most people first: 11 + 9 + 9 people.
    assert len(crowded[0]['keypoints']) == 29
    assert {len(crowded[0][key]) for key in ('visible', 'area', 'bbox')} == {
        29
    }

    samples, heatmaps, tags = render_inputs(
        crowded[:2], (0, 1), SETTINGS['crowded']['noise'], INPUT_SIZE, 3
    )
    # The first 3 maps, those of the first seed first, restored to 512.
    assert heatmaps.shape == (3, 17, INPUT_SIZE, INPUT_SIZE)
    assert tags.shape == heatmaps.shape
    assert [sample['image_id'] for sample in samples] == [
        crowded[0]['image_id'] * 2,
        crowded[1]['image_id'] * 2,
        crowded[0]['image_id'] * 2 + 1,
    ]
    _, small, _ = render_inputs(
        crowded[:1], (0,), SETTINGS['crowded']['noise']
    )
    # Restoring keeps the peaks: the 512 maps are the 128 ones resized.
    assert float(heatmaps[0].amax()) == pytest.approx(
        float(small.amax()), abs=0.05
    )


@pytest.mark.parametrize('map_size', [HEATMAP_SIZE, INPUT_SIZE])
def test_decode_benchmark_runs_the_crowded_setting(map_size):
    """The crowded setting at a tiny size, with maps at the network's
    resolution and restored to the input size."""
    result = run_decode_benchmark(
        TEST_COCO,
        seeds=(0,),
        batch_sizes=(1, 2),
        refines=(True,),
        repeat=1,
        warmup=0,
        setting='crowded',
        map_size=map_size,
        max_maps=1 if map_size == INPUT_SIZE else None,
    )
    num_maps = 1 if map_size == INPUT_SIZE else 2
    assert result['setting'] == 'crowded'
    assert result['map_size'] == map_size
    assert result['inputs']['maps'] == num_maps
    assert result['settings']['heatmap_size'] == (map_size, map_size)
    assert result['settings']['noise']['false_peaks'] == 10
    assert [c['batch_size'] for c in result['cases']] == [1, num_maps]
    for case in result['cases']:
        assert case['speedup'] == pytest.approx(
            case['mmpose_ms_per_image'] / case['ours_ms_per_image']
        )
    (row,) = result['accuracy']
    assert 0 < row['mmpose_ap'] < 1 and 0 < row['ours_ap'] < 1


def test_typical_counts_follow_the_coco_val_distribution():
    """Quantiles of P(n) ~ q**n, mean 2.1: 13 of 28 images hold one
    person, 24 of 28 at most three."""
    counts = typical_people_counts(28)
    assert counts.tolist() == [1] * 13 + [2] * 7 + [3] * 4 + [4] * 2 + [5, 7]
    assert counts.mean() == pytest.approx(2.1, abs=0.02)


def test_typical_images_keep_the_largest_people_of_each_image():
    images = load_coco_people(COCO_MINI)
    typical = typical_images(images)
    assert [image['image_id'] for image in typical] == [
        image['image_id'] for image in images
    ]
    kept = [len(image['keypoints']) for image in typical]
    assert sum(kept) == 59
    assert sorted(kept) == typical_people_counts(28).tolist()
    for image, cut in zip(images, typical):
        assert len(cut['keypoints']) <= len(image['keypoints'])
        largest = np.sort(image['area'])[::-1][: len(cut['area'])]
        np.testing.assert_array_equal(cut['area'], largest)
        assert {len(cut[key]) for key in ('visible', 'bbox')} == {
            len(cut['area'])
        }


def test_decode_benchmark_runs_the_typical_setting():
    """Typical counts on the 4 test images (1, 2, 4 and 5 people): 1, 1, 2
    and 4 people; with refine off run, the groups and the keypoints the
    refine fills are counted."""
    result = run_decode_benchmark(
        TEST_COCO,
        seeds=(0,),
        batch_sizes=(1,),
        repeat=1,
        warmup=0,
        setting='typical',
    )
    assert result['inputs']['people'] == 8
    assert result['settings']['typical_people'] is True
    groups = result['groups']
    assert groups['groups_per_map'] >= 2
    assert 0 < groups['missing_per_map'] < 17 * groups['groups_per_map']
    for row in result['accuracy']:
        assert 0 < row['mmpose_ap'] < 1 and 0 < row['ours_ap'] < 1
