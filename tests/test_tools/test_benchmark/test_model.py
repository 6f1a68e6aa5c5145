import pytest

from tools.benchmark.model import (
    _in_fresh_process,
    _ratios,
    build_model,
    check_outputs,
    default_cases,
    run_case,
    run_model_benchmark,
)

# Batch 2: the 1x1 bottom of a 64-pixel input needs 2 values for its norms.
TINY = dict(size=64, batch_size=2, iters=1, warmup=0, num_stacks=1)


def test_cases_time_and_measure_both_models():
    # in a fresh process each, as the benchmark runs them: the heap that
    # mallinfo2 reads is malloc's main arena, which earlier tests of this
    # process may have left other threads' allocations beside
    results = [
        _in_fresh_process(
            run_case, model='ours', mode='train', with_cp=True, **TINY
        ),
        _in_fresh_process(
            run_case, model='ours', mode='inference', fuse=True, **TINY
        ),
    ]
    for result in results:
        assert result['images_per_s'] > 0
        assert result['peak_memory_mb'] >= result['baseline_rss_mb'] > 0
        assert result['peak_live_above_start_mb'] > 0
    assert results[0]['with_cp'] and results[1]['fuse']
    # Training allocates the gradients of the weights, most of the step's
    # memory at this size: the heap peak must see at least those.
    params = sum(
        p.numel() for p in build_model('ours', num_stacks=1).parameters()
    )
    assert results[0]['peak_live_above_start_mb'] >= params * 4 / 2**20
    with pytest.raises(ValueError, match='with_cp'):
        run_case(model='mmpose', mode='train', with_cp=True, **TINY)


def test_ratios_compare_ours_with_mmpose_and_checkpointing_with_not():
    def result(model, mode, speed, memory, with_cp=False, fuse=False):
        return dict(
            size=256, model=model, mode=mode, with_cp=with_cp, fuse=fuse,
            channels_last=False, images_per_s=speed,
            peak_above_baseline_mb=memory, peak_memory_mb=memory + 1000,
        )  # fmt: skip

    ratios = _ratios(
        [
            result('mmpose', 'train', 1.0, 1000),
            result('ours', 'train', 1.25, 1000),
            result('ours', 'train', 1.0, 400, with_cp=True),
            result('mmpose', 'inference', 4.0, 100),
            result('ours', 'inference', 4.0, 100),
            result('ours', 'inference', 5.0, 90, fuse=True),
        ]
    )
    by_name = {ratio['comparison']: ratio for ratio in ratios}
    assert by_name['train_ours_vs_mmpose']['speed'] == 1.25
    assert by_name['train_cp_vs_ours']['time'] == 1.25
    assert by_name['train_cp_vs_ours']['memory'] == 0.4
    assert by_name['inference_ours_vs_mmpose']['speed'] == 1.0
    assert by_name['inference_fused_vs_mmpose']['memory'] == 0.9
    assert by_name['train_cp_vs_ours']['total_memory'] == 1400 / 2000
    assert 'inference_fused_channels_last_vs_mmpose' not in by_name
    assert {ratio['memory_measure'] for ratio in ratios} == {
        'peak_above_baseline_mb'
    }


def test_outputs_of_ours_equal_mmpose_and_fused():
    outputs = check_outputs(size=64, num_stacks=1)
    assert outputs['output_std'] > 0.1
    assert outputs['ours_vs_mmpose'] < 1e-4
    assert outputs['fused_vs_unfused'] < 1e-4
    assert outputs['fused_channels_last_vs_unfused'] < 1e-4
    assert outputs['relative']['fused_vs_unfused'] == pytest.approx(
        outputs['fused_vs_unfused'] / outputs['output_std']
    )


@pytest.mark.slow
def test_benchmark_runs_each_case_in_a_fresh_process():
    result = run_model_benchmark(
        cases=[dict(size=64, model='ours', mode='inference')],
        batch_size=1,
        iters=1,
        warmup=0,
        num_stacks=1,
        check_size=None,
    )
    (case,) = result['results']
    assert case['model'] == 'ours' and case['size'] == 64
    assert case['peak_above_baseline_mb'] >= 0
    assert result['outputs'] is None
    assert result['settings']['num_stacks'] == 1


def test_default_cases_add_checkpointing_at_the_large_sizes():
    cases = default_cases(sizes=(256,), cp_sizes=(256, 512), cp_iters=1)
    assert len([case for case in cases if case['size'] == 256]) == 7
    assert [case for case in cases if case['size'] == 512] == [
        dict(size=512, model='ours', mode='train', iters=1),
        dict(size=512, model='ours', mode='train', with_cp=True, iters=1),
    ]
