from test_apis.tiny_model import write_tiny_config

from tools.benchmark.onnx_inference import run_onnx_benchmark


def test_times_both_runtimes_on_equal_outputs(tmp_path):
    result = run_onnx_benchmark(
        str(write_tiny_config(tmp_path)), sizes=[64, 128], repeat=1, warmup=0
    )
    assert [row['size'] for row in result['rows']] == [64, 128]
    for row in result['rows']:
        assert row['torch_ms'] > 0 and row['onnx_ms'] > 0
        assert row['speedup'] == row['torch_ms'] / row['onnx_ms']
        assert row['max_rel_diff'] < 1e-5
    assert result['settings']['threads'] >= 1
