import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from aeplugin.datasets.loader_workers import auto_num_workers
from aeplugin.engine import AutoWorkersTrainLoop


class LinearModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return dict(loss=self.linear(inputs).sum())


def _loop(tmp_path, monkeypatch, **loader) -> AutoWorkersTrainLoop:
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '1')
    runner = Runner(
        model=LinearModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.ones(1))] * 4,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=2,
            persistent_workers=True,
            prefetch_factor=4,
            **loader,
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        # the plain Runner builds a loop from its type, as mmpose's tools do
        train_cfg=dict(type=AutoWorkersTrainLoop, max_epochs=1),
        default_hooks=dict(logger=None, checkpoint=None),
        experiment_name=f'auto_workers_{tmp_path.name}',
    )
    return runner.train_loop


def test_auto_workers_are_resolved_when_the_loader_is_built(
    tmp_path, monkeypatch
):
    loop = _loop(tmp_path, monkeypatch, num_workers='auto')
    assert isinstance(loop, AutoWorkersTrainLoop)
    assert loop.dataloader.num_workers == auto_num_workers(processes=1)
    assert loop.dataloader.prefetch_factor == 4
    assert loop.max_epochs == 1


def test_no_workers_overrides_a_config_with_worker_settings(
    tmp_path, monkeypatch
):
    loop = _loop(tmp_path, monkeypatch, num_workers=0)
    assert loop.dataloader.num_workers == 0
    assert not loop.dataloader.persistent_workers
    batches = list(loop.dataloader)
    assert [b['inputs'].shape for b in batches] == [(2, 1), (2, 1)]
