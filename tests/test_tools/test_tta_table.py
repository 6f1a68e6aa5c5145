"""tools/analysis/tta_table.py on a tiny random checkpoint and the 4 COCO
test images: every row of the paper's table runs and is printed."""

import importlib.util

import pytest
from test_apis.tiny_model import (
    ROOT,
    save_random_checkpoint,
    write_tiny_config,
)


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'aeplugin_tools_tta_table',
        ROOT / 'tools' / 'analysis' / 'tta_table.py',
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_every_row_runs_and_the_table_has_the_papers_rows(tmp_path, capsys):
    config = write_tiny_config(tmp_path)
    checkpoint = save_random_checkpoint(config, tmp_path / 'tiny.pth')
    out = tmp_path / 'table.md'
    results = _load_tool().main(
        [
            str(config),
            str(checkpoint),
            '--scales',
            '1',
            '0.5',
            '--no-flip',
            '--work-dir',
            str(tmp_path / 'work'),
            '--out',
            str(out),
            # group on the 1/4-size maps: 16 times fewer pixels to search
            '--cfg-options',
            'model.test_cfg.restore_heatmap_size=False',
            'model.head.decoder.heatmap_size=(32,32)',
        ]
    )
    table = out.read_text().strip().splitlines()
    assert table == capsys.readouterr().out.strip().splitlines()[-6:]
    assert table[0] == (
        '| setting | scales | flip | refine | AP | AP .5 | AP .75 | AR '
        '| ms / image (median) |'
    )
    assert table[1] == '| --- ' * 9 + '|'
    rows = [
        [c.strip() for c in line.strip('|').split('|')] for line in table[2:]
    ]
    assert [r[:4] for r in rows] == [
        ['single scale', '1', 'no', 'no'],
        ['single scale + refine', '1', 'no', 'yes'],
        ['multi-scale', '1 0.5', 'no', 'no'],
        ['multi-scale + refine', '1 0.5', 'no', 'yes'],
    ]
    for row, (_, _, metrics, ms) in zip(rows, results):
        # each row evaluated all 4 images with its own setting
        assert 0 <= metrics['coco/AP'] <= 1
        assert row[4] == f'{metrics["coco/AP"]:.3f}'
        assert ms > 0 and row[8] == f'{ms:.1f}'
    assert [r[1]['refine'] for r in results] == [False, True, False, True]
