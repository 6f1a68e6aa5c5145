from .auto_workers_train_loop import AutoWorkersTrainLoop

__all__ = ['AutoWorkersTrainLoop']
