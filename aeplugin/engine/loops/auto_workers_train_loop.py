from typing import Dict, Union

from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from aeplugin.datasets.loader_workers import resolve_num_workers
from aeplugin.registry import LOOPS


@LOOPS.register_module()
class AutoWorkersTrainLoop(EpochBasedTrainLoop):
    """mmengine's ``EpochBasedTrainLoop`` whose data loader may take
    ``num_workers='auto'``.

    Configs are static files, but the workers a GPU needs depend on the
    node a run lands on. mmengine's ``Runner`` hands the training loader's
    config to its training loop, which builds the loader; here
    ``'auto'`` is first resolved by :func:`auto_num_workers`
    (``min(8, cores // training processes on the node)``, at least 1), a
    number is used as it is, and 0 drops the loader's
    ``persistent_workers`` and ``prefetch_factor``
    (:func:`resolve_num_workers`). Any ``Runner`` builds it from
    ``train_cfg=dict(type='AutoWorkersTrainLoop', ...)`` (no ``by_epoch``:
    the loop is by epoch), mmpose's ``tools/train.py`` as ours.

    Args:
        runner (Runner): The runner
        dataloader (DataLoader | dict): The training data loader, or its
            config
        **kwargs: The other arguments of ``EpochBasedTrainLoop``
            (``max_epochs``, ``val_begin``, ``val_interval``, ...)
    """

    def __init__(self, runner, dataloader: Union[DataLoader, Dict], **kwargs):
        if not isinstance(dataloader, DataLoader):
            dataloader = resolve_num_workers(dataloader)
        super().__init__(runner, dataloader, **kwargs)
