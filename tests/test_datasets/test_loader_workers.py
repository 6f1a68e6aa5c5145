from pathlib import Path

import pytest
from mmengine.config import Config

from aeplugin.datasets.loader_workers import (
    auto_num_workers,
    processes_per_node,
    resolve_num_workers,
)

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


@pytest.mark.parametrize(
    'cpu_count, usable_cores, processes, workers',
    [
        (16, 16, 1, 8),  # one GPU: the cap
        (16, 16, 8, 2),  # 8 GPUs share the cores
        (96, 96, 8, 8),
        (40, 5, 8, 5),  # bound to 5 cores per task (slurm --cpus-per-task)
        (16, 3, 1, 3),  # taskset to 3 cores
        (4, 4, 8, 1),  # fewer cores than GPUs: still one worker
        (2, 2, 1, 2),
    ],
)
def test_workers_per_gpu_rule(cpu_count, usable_cores, processes, workers):
    assert (
        auto_num_workers(
            cpu_count=cpu_count, usable_cores=usable_cores, processes=processes
        )
        == workers
    )


def test_processes_per_node_from_the_launcher():
    assert processes_per_node({'LOCAL_WORLD_SIZE': '8'}) == 8
    assert processes_per_node({'SLURM_NTASKS_PER_NODE': '4'}) == 4
    # torchrun's variable wins over slurm's
    env = {'LOCAL_WORLD_SIZE': '2', 'SLURM_NTASKS_PER_NODE': '4'}
    assert processes_per_node(env) == 2
    assert processes_per_node({}) == 1
    with pytest.raises(ValueError, match=r"LOCAL_WORLD_SIZE='x'"):
        processes_per_node({'LOCAL_WORLD_SIZE': 'x'})


def test_resolve_auto_numbers_and_no_workers(monkeypatch):
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '1')
    loader = dict(
        num_workers='auto', persistent_workers=True, prefetch_factor=4
    )
    resolved = resolve_num_workers(loader)
    assert resolved == dict(loader, num_workers=auto_num_workers(processes=1))
    assert loader['num_workers'] == 'auto'  # a copy
    assert resolve_num_workers(dict(loader, num_workers=3))['num_workers'] == 3
    # without workers torch rejects these two: 0 alone overrides
    assert resolve_num_workers(dict(loader, num_workers=0)) == dict(
        num_workers=0
    )
    with pytest.raises(ValueError, match="'auto' or a number >= 0, got -1"):
        resolve_num_workers(dict(loader, num_workers=-1))


def test_gpu_configs_say_auto_and_the_cpu_main_job_keeps_its_own():
    paper = Config.fromfile(
        CONFIGS / 'ae_hourglass-4stack_8xb6-300e_coco-512x512.py'
    )
    loader = paper.train_dataloader
    assert (loader.num_workers, loader.persistent_workers) == ('auto', True)
    assert (loader.prefetch_factor, loader.pin_memory) == (4, True)
    assert paper.train_cfg == dict(
        type='AutoWorkersTrainLoop', max_epochs=300, val_interval=10
    )
    assert paper.train_dataloader.dataset.pipeline[-1].meta_keys == (
        'img_path',
    )
    tiny = Config.fromfile(
        CONFIGS / 'ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py'
    )
    loader = tiny.train_dataloader
    assert (loader.num_workers, loader.prefetch_factor) == (2, None)
    assert loader.pin_memory is False
