import pytest
import torch

from aeplugin.models.losses import AELoss
from aeplugin.testing import reference_ae_loss
from tools.benchmark.loss import crowded_batch, run_loss_benchmark


def test_crowded_batch_shapes():
    tags, indices = crowded_batch(
        batch_size=3, max_people=6, num_keypoints=5, heatmap_size=8,
        num_stacks=2,
    )  # fmt: skip
    assert [tuple(t.shape) for t in tags] == [(3, 5, 8, 8)] * 2
    assert len(indices[0]) == 6
    assert all(3 <= len(people) <= 6 for people in indices)
    assert all(people.shape[1:] == (5, 2) for people in indices)
    assert max(int(people[..., 0].max()) for people in indices) < 64


def test_reference_loop_equals_ae_loss_in_float64():
    tags, indices = crowded_batch(
        batch_size=2, max_people=5, num_keypoints=4, heatmap_size=6,
        num_stacks=1,
    )  # fmt: skip
    tags = tags[0].double()
    pull, push = AELoss(push_loss_factor=0.5)(tags, indices)
    ref_pull, ref_push = reference_ae_loss(tags, indices, push_factor=0.5)
    torch.testing.assert_close(pull, ref_pull, atol=1e-12, rtol=0)
    torch.testing.assert_close(push, ref_push, atol=1e-12, rtol=0)
    assert push > 0


def test_loss_benchmark_reports_times_and_equal_values():
    result = run_loss_benchmark(
        batch_size=3,
        max_people=4,
        heatmap_size=16,
        num_stacks=2,
        repeat=1,
        warmup=0,
        mmpose_repeat=1,
    )
    assert result['ours_ms'] > 0 and result['mmpose_ms'] > 0
    assert result['speedup'] == pytest.approx(
        result['mmpose_ms'] / result['ours_ms']
    )
    values = result['values']
    assert values['max_abs_diff'] < 1e-6
    # Same inputs for both: mmpose sums the images' pulls (its N + 1e-6
    # aside), ours averages them.
    assert values['mmpose']['pull'] == pytest.approx(
        3 * values['ours']['pull'], rel=1e-4
    )
    assert result['inputs']['people_per_image'][1] == 4
