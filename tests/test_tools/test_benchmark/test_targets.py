from pathlib import Path

from tools.benchmark.targets import crowd, run_targets_benchmark

COCO_MINI = (
    Path(__file__).parents[3]
    / 'data/coco-mini/annotations/person_keypoints_train2017.json'
)


def test_crowd_repeats_real_people_when_asked_for_more():
    keypoints, visible = crowd(COCO_MINI, 100)
    assert keypoints.shape == (100, 17, 2) and visible.shape == (100, 17)
    # The 87th person is the first one again, shifted.
    assert (keypoints[86] - keypoints[0])[visible[0] > 0].tolist()[0] == [
        23.0,
        -17.0,
    ]


def test_targets_benchmark_reports_equal_targets():
    result = run_targets_benchmark(
        COCO_MINI, crowd_sizes=(1, 30), repeat=1, warmup=0
    )
    assert [case['people'] for case in result['cases']] == [1, 30]
    for case in result['cases']:
        assert case['equal']
        assert case['ours_ms'] > 0 and case['mmpose_ms'] > 0
    assert result['settings']['heatmap_size'] == [128, 128]
