import weakref

import pytest
import torch
import torch.distributed as torch_dist
from torch.nn.parallel import DistributedDataParallel

from aeplugin.engine import finish_distributed, init_cpu_distributed


def test_finish_distributed_frees_a_model_held_in_a_cycle(one_process_group):
    # as mmengine's Runner: the wrapped model lives in a reference cycle
    holder = {'model': DistributedDataParallel(torch.nn.Linear(2, 2))}
    holder['self'] = holder
    model = weakref.ref(holder['model'])
    del holder
    assert model() is not None

    finish_distributed()

    assert model() is None, 'DDP (and its process group) outlived the destroy'
    assert not torch_dist.is_initialized()


def test_init_cpu_distributed_names_missing_environment(monkeypatch):
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError, match='RANK, WORLD_SIZE, MASTER_ADDR'):
        init_cpu_distributed('pytorch')
    assert init_cpu_distributed('none') is False
