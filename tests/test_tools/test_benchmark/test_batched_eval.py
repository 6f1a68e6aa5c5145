import pytest
import torch
from test_apis.tiny_model import write_tiny_config

from tools.benchmark.batched_eval import (
    PAPER_CONFIG,
    parse_args,
    random_checkpoint,
    run_batched_eval_benchmark,
)


def test_defaults_are_the_paper_config_at_batch_1_and_8():
    args = parse_args([])
    assert args.config == str(PAPER_CONFIG)
    assert args.batch_sizes == [1, 8, 1, 8] and args.input_size == 256
    assert args.tta == 'flip' and args.weights == 'init'


@pytest.mark.slow
def test_batched_eval_benchmark_compares_each_batch_size(tmp_path):
    config = write_tiny_config(tmp_path)
    checkpoint = random_checkpoint(config, tmp_path / 'r.pth', (), 'random')
    with pytest.raises(ValueError, match='weights'):
        random_checkpoint(config, tmp_path / 'x.pth', (), 'trained')
    with torch.backends.mkldnn.flags(enabled=False):
        result = run_batched_eval_benchmark(
            config,
            checkpoint,
            (1, 2),
            ['--tta', 'none'],
            ['test_dataloader.dataset.pipeline.1.resize_mode=expand'],
        )
    assert [case['batch_size'] for case in result['cases']] == [1, 2]
    for case in result['cases']:
        assert case['images'] == 4 and case['images_per_s'] > 0
        assert case['step_images_per_s'] >= case['images_per_s']
        assert case['vs_first']['same_people']
        assert case['vs_first']['moved'] == 0
        assert case['vs_first']['keypoints'] > 0
    assert result['machine']['device'] == 'cpu'
