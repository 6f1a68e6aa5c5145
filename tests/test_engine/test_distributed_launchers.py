"""init_cpu_distributed: the Slurm launcher on CPU and the process-group
timeout of ``env_cfg.dist_cfg``."""

import datetime
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import torch.distributed as torch_dist

from aeplugin.engine import init_cpu_distributed
from aeplugin.engine.distributed import DEFAULT_TIMEOUT

ROOT = Path(__file__).parents[2]
# the test stand-ins for srun and scontrol
SLURM_STUB = ROOT / 'tests' / 'test_tools' / 'slurm_stub'


def _timeout():
    group = torch_dist.distributed_c10d._get_default_group()
    return group._get_backend(torch.device('cpu')).options._timeout


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture
def cpu_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR'):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv('MASTER_PORT', raising=False)
    yield monkeypatch
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def test_slurm_variables_start_a_gloo_group(cpu_only):
    """As mmengine's ``_init_dist_slurm``, without its
    ``torch.cuda.set_device``: ranks from SLURM_*, the master from the
    first host of the node list (scontrol) and the port of dist_cfg."""
    for key in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'):
        cpu_only.delenv(key, raising=False)
    with pytest.raises(
        RuntimeError,
        match='--launcher slurm needs SLURM_PROCID, SLURM_NTASKS, '
        'SLURM_NODELIST in the environment: start the job with '
        r'tools/slurm_train.sh \(srun\)',
    ):
        init_cpu_distributed('slurm')

    port = _free_port()
    cpu_only.setenv('PATH', f'{SLURM_STUB}{os.pathsep}{os.environ["PATH"]}')
    cpu_only.setenv('SLURM_PROCID', '0')
    cpu_only.setenv('SLURM_NTASKS', '1')
    cpu_only.setenv('SLURM_LOCALID', '0')
    cpu_only.setenv('SLURM_NODELIST', 'stubnode')
    dist_cfg = dict(backend='nccl', port=port, timeout=7)
    assert init_cpu_distributed('slurm', dist_cfg) is True
    assert {
        k: os.environ[k] for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK')
    } == (dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0'))
    assert os.environ['MASTER_ADDR'] == '127.0.0.1'
    assert os.environ['MASTER_PORT'] == str(port)
    assert torch_dist.get_backend() == 'gloo'
    assert torch_dist.get_world_size() == 1
    assert _timeout() == datetime.timedelta(seconds=7)
    # started once: a second call leaves the group alone
    assert init_cpu_distributed('slurm', dist_cfg) is False


def test_without_a_timeout_the_cpu_group_takes_ten_minutes(cpu_only):
    cpu_only.setenv('RANK', '0')
    cpu_only.setenv('WORLD_SIZE', '1')
    cpu_only.setenv('MASTER_ADDR', '127.0.0.1')
    cpu_only.setenv('MASTER_PORT', str(_free_port()))
    assert init_cpu_distributed('pytorch', dict(backend='nccl')) is True
    # NCCL's default, not gloo's 30 minutes
    assert DEFAULT_TIMEOUT == 600
    assert _timeout() == datetime.timedelta(minutes=10)


# rank 1 starts the group and then never joins a collective (the module
# read alone: the plugin's imports would double the test's time)
_STUCK_RANK = textwrap.dedent(
    """
    import importlib.util, os, time
    import torch, torch.distributed as dist

    spec = importlib.util.spec_from_file_location(
        'distributed', 'aeplugin/engine/distributed.py'
    )
    distributed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(distributed)
    distributed.init_cpu_distributed(
        'pytorch', dict(backend='nccl', timeout=2)
    )
    if dist.get_rank() == 1:
        time.sleep(120)
    start = time.monotonic()
    try:
        dist.all_reduce(torch.zeros(1))
    except RuntimeError as error:
        print(f'after {time.monotonic() - start:.1f} s: {error}', flush=True)
        # at once: a gloo group alive at interpreter shutdown aborts
        os._exit(3)
    """
)


@pytest.mark.slow  # two Python processes with torch: about 10 s
def test_the_timeout_of_dist_cfg_ends_a_collective_with_a_stuck_rank():
    """A rank that hangs (stopped, a lost node) is not seen by gloo as a
    closed connection: only the timeout ends the others' wait (10 minutes
    when dist_cfg sets none; gloo's own default is 30)."""
    env = {
        **os.environ,
        'CUDA_VISIBLE_DEVICES': '',
        'MASTER_ADDR': '127.0.0.1',
        'MASTER_PORT': str(_free_port()),
        'WORLD_SIZE': '2',
        'OMP_NUM_THREADS': '1',
    }
    ranks = [
        subprocess.Popen(
            [sys.executable, '-c', _STUCK_RANK],
            cwd=ROOT,
            env={**env, 'RANK': str(rank)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in (0, 1)
    ]
    try:
        log, _ = ranks[0].communicate(timeout=60)
    finally:
        for rank in ranks:
            rank.kill()
            rank.communicate()
    assert ranks[0].returncode == 3, log[-2000:]
    seconds = float(log.split('after ')[1].split(' s:')[0])
    assert 2.0 <= seconds < 10.0, log[-2000:]
    assert 'Timed out' in log
