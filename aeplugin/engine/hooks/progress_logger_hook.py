"""Training log lines every N iterations of the run, with an ETA from the
recent speed."""

from typing import Optional

from mmengine.hooks import LoggerHook

from aeplugin.registry import HOOKS


@HOOKS.register_module()
class ProgressLoggerHook(LoggerHook):
    """mmengine's ``LoggerHook`` whose training lines come every
    ``interval`` iterations of the run, not of the epoch.

    mmengine's hook counts ``interval`` within an epoch and also logs the
    last iteration of every epoch, with an ``Exp name`` line: a run of short
    epochs (the main job: 7 iterations, 400 epochs) prints two lines per
    epoch whatever the interval. Its ETA multiplies the remaining
    iterations by the mean iteration time since the start, so slow first
    iterations (start-up, a machine busy then) or a machine that became
    busy later keep it wrong for the rest of the run. Here a line comes
    after every ``interval``-th iteration of the run and after the last
    one, the experiment name once at the start, and the ETA is the
    remaining iterations times the mean time of the last ``eta_window``
    ones.

    Validation, test and epoch-end logging are mmengine's.

    Args:
        interval (int): Iterations between training lines. Defaults to 50
        eta_window (int, optional): Iterations whose mean time sets the
            ETA; ``None`` means ``interval``
        **kwargs: The other arguments of ``LoggerHook``
    """

    def __init__(
        self, interval: int = 50, eta_window: Optional[int] = None, **kwargs
    ) -> None:
        super().__init__(interval=interval, **kwargs)
        self.eta_window = eta_window or interval
        if self.eta_window < 1:
            raise ValueError(f'eta_window must be >= 1, got {eta_window}')

    def before_train(self, runner) -> None:
        runner.logger.info(f'Exp name: {runner.experiment_name}')

    def after_train_iter(
        self, runner, batch_idx: int, data_batch=None, outputs=None
    ) -> None:
        done = runner.iter + 1
        if done % self.interval and done != runner.max_iters:
            return
        hub = runner.message_hub
        if 'train/time' in hub.log_scalars:
            recent = hub.get_scalar('train/time').mean(self.eta_window)
            hub.update_info('eta', recent * (runner.max_iters - done))
        tag, log_str = runner.log_processor.get_log_after_iter(
            runner, batch_idx, 'train'
        )
        runner.logger.info(f'{log_str}  iter: {done}/{runner.max_iters}')
        runner.visualizer.add_scalars(
            tag, step=done, file_path=self.json_log_path
        )
