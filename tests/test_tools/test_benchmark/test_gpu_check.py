import pytest

from tools.benchmark import gpu_check

CHECKS = [
    'cuda tests',
    'main job, 2 epochs',
    'train step fp32',
    'train step bf16',
    'train step bf16 + compile',
    'data loader',
    'gloo pair',
]


def test_finds_the_tests_that_skip_without_cuda():
    ids = gpu_check.cuda_only_tests()
    assert (
        'tests/test_engine/test_optim_wrappers/test_bf16_optim_wrapper.py::'
        'test_a_cuda_model_autocasts_to_bfloat16'
    ) in ids
    assert (
        'tests/test_engine/test_hooks/test_channels_last_hook.py::'
        'test_a_cuda_model_becomes_channels_last_unless_disabled'
    ) in ids
    assert all('::test_' in i for i in ids)


@pytest.mark.slow
def test_every_check_passes_at_tiny_sizes_on_the_cpu(tmp_path, capsys):
    """``--device cpu``: the table has a row per check, each passed (the
    data loader's is 'not available' while its benchmark script is not in
    the tree)."""
    out = tmp_path / 'table.md'
    status = gpu_check.main(['--device', 'cpu', '--out', str(out)])
    table = out.read_text().strip().splitlines()
    assert table[:2] == ['| check | result | numbers |', '| --- | --- | --- |']
    rows = [line.strip('|').split(' | ') for line in table[2:]]
    assert [r[0].strip() for r in rows] == CHECKS, table
    loader = (gpu_check.REPO / 'tools/benchmark/data_loader.py').exists()
    for check, result, numbers in rows:
        expected = (
            'not available'
            if check.strip() == 'data loader' and not loader
            else 'pass'
        )
        assert result == expected, (check, numbers)
    assert status == 0
    assert capsys.readouterr().out.strip().splitlines() == table
