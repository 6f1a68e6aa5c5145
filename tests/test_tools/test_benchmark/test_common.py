import json

import pytest

from tools.benchmark.common import (
    default_out,
    describe_machine,
    format_table,
    speedup,
    time_call,
    time_interleaved,
    write_json,
)


def test_time_call_runs_warmup_then_timed_calls():
    calls = []
    timing = time_call(lambda: calls.append(1), repeat=3, warmup=2)
    assert len(calls) == 5
    assert timing['repeat'] == 3
    assert 0 <= timing['min_s'] <= timing['median_s'] <= timing['max_s']
    with pytest.raises(ValueError, match='repeat'):
        time_call(lambda: None, repeat=0)


def test_time_interleaved_alternates_passes_of_the_ways():
    order = []
    work = {
        name: [lambda n=name, i=i: order.append((n, i)) for i in range(2)]
        for name in ('a', 'b')
    }
    times = time_interleaved(work, repeat=2, warmup=1)
    a_first = [('a', 0), ('a', 1), ('b', 0), ('b', 1)]
    b_first = a_first[2:] + a_first[:2]
    assert order == a_first + b_first + a_first
    assert set(times) == {'a', 'b'}
    assert times['a']['repeat'] == 2
    assert 0 <= times['b']['min_s'] <= times['b']['median_s']
    with pytest.raises(ValueError, match='same number of calls'):
        time_interleaved(dict(a=[lambda: None], b=[]))


def test_speedup_is_the_ratio_of_median_times():
    assert speedup(dict(median_s=0.5), dict(median_s=2.0)) == 4.0


def test_json_report_and_machine_description(tmp_path):
    machine = describe_machine()
    assert {'cpu', 'cpu_cores', 'torch', 'torch_threads', 'device'} <= set(
        machine
    )
    assert machine['device'] == 'cpu'
    path = write_json(dict(machine=machine), tmp_path / 'sub' / 'x.json')
    assert json.loads(path.read_text())['machine'] == machine
    out = default_out('decode')
    assert out.as_posix() == 'work_dirs/benchmark/decode.json'


def test_format_table_aligns_columns():
    table = format_table(['name', 'ms'], [['ours', 1.23456], ['mmpose', 20]])
    assert table.splitlines() == [
        'name    ms',
        'ours    1.235',
        'mmpose  20',
    ]
