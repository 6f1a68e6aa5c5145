from aeplugin.datasets.loader_workers import auto_num_workers
from tools.benchmark.train_step import (
    PATHS,
    format_results,
    load_config,
    parse_args,
    run_train_step_benchmark,
    time_loader,
)

# One small stack at a 64 input (16x16 heatmaps); batch 2: the 1x1 bottom
# of the hourglass needs 2 values for its norms.
TINY = dict(
    input_size=64,
    num_stacks=1,
    cfg_options={
        'model.backbone.feat_channels': 32,
        'model.backbone.increase': 16,
        'model.backbone.stem_channels': (16, 32),
    },
    iters=1,
    warmup=0,
    device='cpu',
    threads=1,
    fresh_process=False,
)


def test_input_size_reaches_every_training_step():
    cfg = load_config(input_size=128, num_stacks=1)
    pipeline = cfg.train_dataloader.dataset.pipeline
    affine, target = pipeline[1], pipeline[3]
    assert affine.input_size == (128, 128)
    assert target.encoder['input_size'] == (128, 128)
    assert target.encoder['heatmap_size'] == (32, 32)
    # the paper config's decoder restores the heatmaps to the input size
    assert cfg.model.head.decoder['heatmap_size'] == (128, 128)
    assert cfg.model.backbone.num_stacks == 1
    assert cfg.train_dataloader.dataset.data_root.endswith('coco-mini/')


def test_ours_copies_less_and_its_copies_do_not_grow_with_the_batch():
    result = run_train_step_benchmark(batch_size=2, **TINY)
    assert result['benchmark'] == 'train_step'
    assert result['settings']['batch_size'] == 2
    assert result['settings']['num_stacks'] == 1
    assert result['machine']['device'] == 'cpu'
    cases = {(case['path'], case['part']): case for case in result['results']}
    assert set(cases) == {
        (path, part) for path in PATHS for part in ('step', 'backbone')
    }
    for case in cases.values():
        assert case['images_per_s'] > 0
        assert case['step_time']['repeat'] == 1
        assert case['peak_memory_mb'] > 0
        assert 0 <= case['optimizer_syncs'] <= case['syncs']
    assert all(ratio['speed_fastest'] > 0 for ratio in result['ratios'])
    assert {ratio['part'] for ratio in result['ratios']} == {
        'step',
        'backbone',
    }
    # the backbone alone reads preprocessed inputs: nothing to move
    assert cases['ours', 'backbone']['host_to_device'] == 0
    ours, theirs = cases['ours', 'step'], cases['mmpose', 'step']
    assert 0 < ours['host_to_device'] < theirs['host_to_device']
    assert result['loader'] is None
    assert any('ours/mmpose-eq' in block for block in format_results(result))

    # each case timed on its own this time
    larger = run_train_step_benchmark(
        batch_size=4, parts=('step',), interleave=False, **TINY
    )
    assert not larger['settings']['interleave']
    by_path = {case['path']: case for case in larger['results']}
    assert by_path['ours']['images_per_s'] > 0
    assert by_path['ours']['host_to_device'] == ours['host_to_device']
    assert by_path['mmpose']['host_to_device'] > theirs['host_to_device']


def test_loader_runs_the_configs_workers():
    cfg = load_config(input_size=64, num_stacks=1)
    loader = time_loader(cfg, batch_size=2, num_batches=2)
    # the paper config's 'auto', resolved as the training loop does
    assert cfg.train_dataloader.num_workers == 'auto'
    assert loader['num_workers'] == auto_num_workers()
    assert loader['images_per_s'] > 0 and loader['first_batch_s'] > 0
    assert not loader['pin_memory']  # pinned only for CUDA


def test_command_line_defaults_follow_the_device():
    cpu = parse_args(['--device', 'cpu'])
    assert (cpu['iters'], cpu['warmup'], cpu['loader_batches']) == (3, 1, 0)
    assert cpu['batch_size'] is None  # 2 on the CPU, 32 on CUDA
    cuda = parse_args(['--device', 'cuda', '--compile', '--loader'])
    assert (cuda['iters'], cuda['warmup']) == (20, 10)
    assert cuda['loader_batches'] == 10
    assert parse_args(['--stacks', '1'])['num_stacks'] == 1
    assert cpu['interleave']
    assert not parse_args(['--no-interleave'])['interleave']
