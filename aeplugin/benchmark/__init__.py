from .common import (
    default_out,
    describe_machine,
    format_machine,
    format_table,
    speedup,
    time_call,
    time_interleaved,
    write_json,
)
from .decode import run_decode_benchmark
from .loss import run_loss_benchmark
from .model import run_model_benchmark
from .targets import run_targets_benchmark

__all__ = [
    'default_out',
    'describe_machine',
    'format_machine',
    'format_table',
    'speedup',
    'time_call',
    'time_interleaved',
    'write_json',
    'run_decode_benchmark',
    'run_loss_benchmark',
    'run_model_benchmark',
    'run_targets_benchmark',
]
