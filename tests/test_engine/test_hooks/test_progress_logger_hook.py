import pytest
import torch
from mmengine.hooks import Hook, iter_timer_hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

from aeplugin.engine import ProgressLoggerHook


class FakeClock:
    """``time.time`` of mmengine's ``IterTimerHook``, which times the
    iterations whose mean sets the ETA: advanced only by the model, so
    every iteration takes a known time."""

    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now


class SlowStartModel(BaseModel):
    """A linear model whose first ``slow_steps`` training steps take
    ``slow_s`` seconds of the clock and the others none: a run whose start
    is slower than the rest."""

    def __init__(self, clock: FakeClock, slow_steps: int, slow_s: float):
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)
        self.clock, self.slow_steps, self.slow_s = clock, slow_steps, slow_s
        self.steps = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            self.steps += 1
            if self.steps <= self.slow_steps:
                self.clock.now += self.slow_s
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


@pytest.fixture
def clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(iter_timer_hook, 'time', clock)
    return clock


def _train(tmp_path, clock, logger, epochs=4, per_epoch=3, slow_steps=0):
    record = RecordEta()
    runner = Runner(
        model=SlowStartModel(clock, slow_steps, slow_s=0.5),
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


def test_a_line_every_n_iterations_of_the_run_not_of_the_epoch(
    tmp_path, clock
):
    logger = dict(type=ProgressLoggerHook, interval=5)
    log, _ = _train(tmp_path, clock, logger, epochs=4, per_epoch=3)
    lines = [line for line in log.splitlines() if 'Epoch(train)' in line]
    # 12 iterations of 3-iteration epochs: after the 5th, the 10th and the
    # last, not at every epoch's end
    assert [line.rsplit('iter: ', 1)[1] for line in lines] == [
        '5/12',
        '10/12',
        '12/12',
    ]
    assert log.count('Exp name: progress_') == 1


@pytest.mark.parametrize(
    'eta_window, eta_after_4',
    [
        # steps 1-3 take 0.5 s, step 4 none: 8 steps left at the mean of
        (None, 8 * 1.5 / 4),  # the last 4 (the interval)
        (2, 8 * 0.5 / 2),  # the last 2
    ],
)
def test_eta_is_the_mean_time_of_the_last_iterations(
    tmp_path, clock, eta_window, eta_after_4
):
    logger = dict(type=ProgressLoggerHook, interval=4, eta_window=eta_window)
    _, etas = _train(tmp_path, clock, logger, slow_steps=3)
    assert etas[4] == pytest.approx(eta_after_4)
    # steps 5-8 took no time: nothing left, where the mean since the
    # start would still give 4 * 1.5 / 8 s
    assert etas[8] == 0
    assert etas[12] == 0


def test_eta_window_must_be_positive():
    with pytest.raises(ValueError, match='eta_window must be >= 1'):
        ProgressLoggerHook(interval=5, eta_window=-1)
