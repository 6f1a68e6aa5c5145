import time

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

from aeplugin.engine import ProgressLoggerHook


class SlowStartModel(BaseModel):
    """A linear model whose first ``slow_steps`` training steps take
    ``slow_s`` longer: a run whose start is slower than the rest."""

    def __init__(self, slow_steps: int, slow_s: float):
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)
        self.slow_steps, self.slow_s, self.steps = slow_steps, slow_s, 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            self.steps += 1
            if self.steps <= self.slow_steps:
                time.sleep(self.slow_s)
        out = self.linear(inputs)
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


class RecordEta(Hook):
    """Read the ETA the logger left in the message hub after each line."""

    priority = 'LOWEST'

    def __init__(self):
        self.etas = {}

    def after_train_iter(self, runner, batch_idx, data_batch, outputs):
        if 'eta' in runner.message_hub.runtime_info:
            self.etas[runner.iter + 1] = runner.message_hub.get_info('eta')


def _train(tmp_path, logger: dict, epochs=4, per_epoch=3, slow_steps=0):
    record = RecordEta()
    runner = Runner(
        model=SlowStartModel(slow_steps, slow_s=0.5),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.ones(1))] * per_epoch,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=1,
            num_workers=0,
        ),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        default_hooks=dict(logger=logger, checkpoint=None),
        custom_hooks=[record],
        log_processor=dict(window_size=1),
        # mmengine keeps one logger per name: one per test
        experiment_name=f'progress_{tmp_path.name}',
    )
    runner.train()
    log = next(tmp_path.glob('*/*.log')).read_text()
    return log, record.etas


def test_a_line_every_n_iterations_of_the_run_not_of_the_epoch(tmp_path):
    logger = dict(type=ProgressLoggerHook, interval=5)
    log, _ = _train(tmp_path, logger, epochs=4, per_epoch=3)
    lines = [line for line in log.splitlines() if 'Epoch(train)' in line]
    # 12 iterations: after the 5th, the 10th and the last
    assert [line.rsplit('iter: ', 1)[1] for line in lines] == [
        '5/12',
        '10/12',
        '12/12',
    ]
    assert log.count('Exp name: progress_') == 1


def test_mmengine_logs_every_epoch_end(tmp_path):
    """What the hook replaces: mmengine's counts within the epoch and logs
    each epoch's last iteration with the experiment name."""
    log, _ = _train(tmp_path, dict(type='LoggerHook', interval=5))
    assert log.count('Epoch(train)') == 4
    assert log.count('Exp name: progress_') == 4


def test_eta_follows_the_recent_speed(tmp_path):
    logger = dict(type=ProgressLoggerHook, interval=4)
    # 4 slow steps (0.5 s more each), then 8 fast ones; a line every 4
    _, etas = _train(tmp_path, logger, epochs=4, per_epoch=3, slow_steps=4)
    # after step 4: 8 steps left at the slow speed
    assert etas[4] == pytest.approx(8 * 0.5, abs=0.8)
    # after step 8 the last 4 were fast: well under a second left (a fast
    # step takes milliseconds), where the mean since the start (mmengine's)
    # gives at least 4 * 2 s / 8 = 1 s
    assert etas[8] < 0.5


def test_eta_window_must_be_positive():
    with pytest.raises(ValueError, match='eta_window must be >= 1'):
        ProgressLoggerHook(interval=5, eta_window=-1)
