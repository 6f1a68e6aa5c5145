import json

import pytest

from tools.benchmark import common
from tools.benchmark.common import (
    default_out,
    describe_machine,
    format_table,
    speedup,
    time_call,
    time_interleaved,
    write_json,
)


class FakeClock:
    """``time.perf_counter`` of the benchmarks, advanced only by the calls
    being timed: durations known exactly, whatever the machine's load."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now

    def taking(self, durations):
        """A call that takes the next of ``durations`` seconds each time."""
        durations = iter(durations)

        def call():
            self.now += next(durations)

        return call


@pytest.fixture
def clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(common, 'time', clock)
    return clock


def test_time_call_reports_the_timed_calls_not_the_warmup(clock):
    # warm-up calls of 100 s, then timed calls of 3, 1, 2 s
    timing = time_call(clock.taking([100, 100, 3, 1, 2]), repeat=3, warmup=2)
    assert timing == dict(median_s=2, min_s=1, max_s=3, repeat=3)
    with pytest.raises(ValueError, match='repeat'):
        time_call(lambda: None, repeat=0)


def test_time_interleaved_alternates_passes_of_the_ways():
    order = []
    work = {
        name: [lambda n=name, i=i: order.append((n, i)) for i in range(2)]
        for name in ('a', 'b')
    }
    time_interleaved(work, repeat=2, warmup=1)
    a_first = [('a', 0), ('a', 1), ('b', 0), ('b', 1)]
    b_first = a_first[2:] + a_first[:2]
    assert order == a_first + b_first + a_first
    with pytest.raises(ValueError, match='same number of calls'):
        time_interleaved(dict(a=[lambda: None], b=[]))


def test_a_ways_time_sums_its_calls_medians_over_the_rounds(clock):
    # rounds: warm-up, then 3 timed; 'a' first in rounds 0 and 2
    work = dict(
        # call 0 takes 9 (warm-up), 1, 5, 2 s; call 1 takes 9, 4, 4, 6 s
        a=[clock.taking([9, 1, 5, 2]), clock.taking([9, 4, 4, 6])],
        b=[clock.taking([9, 10, 30, 20]), clock.taking([9, 0, 0, 0])],
    )
    times = time_interleaved(work, repeat=3, warmup=1)
    assert times['a'] == dict(
        median_s=2 + 4, min_s=1 + 4, max_s=5 + 6, repeat=3
    )
    assert times['b'] == dict(median_s=20, min_s=10, max_s=30, repeat=3)
    # the benchmarks' ratio: how many times faster ours ('a') is
    assert speedup(ours=times['a'], theirs=times['b']) == 20 / 6


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
