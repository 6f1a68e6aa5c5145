import json
import os
import pickle

import pytest

from tools.benchmark.data_loader import (
    ROW_KEYS,
    batch_structure,
    build_samples,
    collate_function,
    format_markdown,
    load_config,
    main,
    main_process_costs,
    parse_workers,
    pipeline_config,
)

# the paper config at a 64 input (16x16 heatmaps), 2 images a batch
SIZE, BATCH = 64, 2


@pytest.fixture(scope='module')
def cfg():
    return load_config(input_size=SIZE)


@pytest.fixture(scope='module')
def samples(cfg):
    return {
        pipeline: build_samples(pipeline_config(cfg, pipeline), BATCH)
        for pipeline in ('aeplugin', 'mmpose')
    }


def test_our_batch_carries_no_annotations_and_pickles_smaller(cfg, samples):
    ours = collate_function('aeplugin')(samples['aeplugin'])
    theirs = collate_function('mmpose')(samples['mmpose'])
    # mmpose's default packing keeps the raw annotations
    assert 'raw_ann_info' in theirs['data_samples'][0].metainfo
    assert b'raw_ann_info' in pickle.dumps(theirs)
    assert b'raw_ann_info' not in pickle.dumps(ours)
    assert b'img_path' not in pickle.dumps(ours)
    assert set(ours['data_samples']) == {
        'heatmaps',
        'heatmap_mask',
        'keypoint_indices',
    }
    ours, theirs = batch_structure(ours, BATCH), batch_structure(theirs, BATCH)
    assert ours['pickled_bytes'] < theirs['pickled_bytes']
    # inputs, 2 maps, indices and the dicts holding them
    assert ours['tensors_per_batch'] == 4
    assert ours['objects_per_batch'] == 6
    assert theirs['objects_per_batch'] > 10 * ours['objects_per_batch']


def test_main_process_costs_without_pinning_on_the_cpu(cfg, samples):
    costs = main_process_costs(
        cfg, 'aeplugin', samples['aeplugin'], 'cpu', repeat=1
    )
    assert costs['pin_ms'] is None
    assert costs['main_ms_per_batch'] == costs['cast_ms'] > 0
    assert costs['collate_ms'] > 0


@pytest.mark.slow
def test_cli_writes_the_rows_gpu_check_reads(tmp_path, capsys):
    out = tmp_path / 'rows.json'
    main(
        [
            '--workers',
            '1',
            '--batches',
            '1',
            '--batch-size',
            str(BATCH),
            '--input-size',
            str(SIZE),
            '--repeat',
            '1',
            '--rounds',
            '1',
            '--device',
            'cpu',
            '--json',
            str(out),
        ]
    )
    rows = json.loads(out.read_text())
    assert [(r['pipeline'], r['workers']) for r in rows] == [
        ('aeplugin', 1),
        ('mmpose', 1),
    ]
    for row in rows:
        assert set(ROW_KEYS) <= set(row)
        assert row['images_per_s'] > 0 and row['pickled_bytes'] > 0
    table = capsys.readouterr().out
    assert '| aeplugin | 1 |' in table and '| mmpose | 1 |' in table


def test_markdown_ratios_are_against_mmpose_at_the_same_workers():
    row = dict.fromkeys(ROW_KEYS, 1.0)
    rows = [
        dict(row, pipeline='aeplugin', workers=2, images_per_s=30.0),
        dict(row, pipeline='mmpose', workers=2, images_per_s=20.0),
    ]
    lines = format_markdown(rows).splitlines()
    assert lines[2].startswith('| aeplugin | 2 | 30 | 1.5 |')
    assert lines[3].startswith('| mmpose | 2 | 20 |  |')


def test_workers_all_is_the_usable_cores():
    cores = len(os.sched_getaffinity(0))
    assert parse_workers(['1', 'all']) == sorted({1, cores})
    assert parse_workers(['3', '3']) == [3]
    with pytest.raises(ValueError, match="numbers or 'all', got 'x'"):
        parse_workers(['x'])
