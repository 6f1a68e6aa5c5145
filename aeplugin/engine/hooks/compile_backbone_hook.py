import logging
from typing import Callable, Optional, Union

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from torch import nn

from aeplugin.registry import HOOKS


@HOOKS.register_module()
class CompileBackboneHook(Hook):
    """Compile the model's backbone with ``torch.compile`` for training;
    validate and test with the same backbone uncompiled.

    The backbone holds nearly all of a step's work and has static shapes in
    training, so compiling it alone gets most of the gain without tracing
    the data preprocessor, the head's target handling or the grouping
    (mmengine's ``compile=True`` compiles the whole ``train_step``). The
    module is compiled in place (``nn.Module.compile``): parameter names and
    checkpoints stay as they are. The first steps are slow while it
    compiles (about 80 s for the paper network on an H200).

    It compiles once, for one static shape (``dynamic=False``): the training
    batches must all have one size, so the training loader must drop the
    last short batch of an epoch (``drop_last=True``; a warning says so
    when it does not), or that batch compiles a second graph. Validation
    and test run in eval mode, without gradients, at varying input sizes:
    each would compile again, so they run the module's plain forward (the
    same weights) and training switches back to the compiled one.

    ``tools/train.py --compile`` adds it and sets the training loader's
    ``drop_last``.

    Args:
        backend (str | Callable): ``torch.compile``'s backend. Defaults to
            ``'inductor'``
        mode (str, optional): ``torch.compile``'s mode. Defaults to ``None``
    """

    priority = 'LOW'

    def __init__(
        self,
        backend: Union[str, Callable] = 'inductor',
        mode: Optional[str] = None,
    ):
        self.backend = backend
        self.mode = mode
        self._compiled_call: Optional[Callable] = None

    @staticmethod
    def _backbone(runner) -> nn.Module:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        return model.backbone

    def before_run(self, runner) -> None:
        backbone = self._backbone(runner)
        backbone.compile(backend=self.backend, mode=self.mode, dynamic=False)
        self._compiled_call = backbone._compiled_call_impl
        # built by now in a training run (not read in a test run)
        loop = getattr(runner, '_train_loop', None)
        if isinstance(loop, BaseLoop) and not loop.dataloader.drop_last:
            print_log(
                'CompileBackboneHook: the training loader keeps the last '
                'short batch of each epoch, which compiles the backbone '
                'again; set train_dataloader.drop_last=True',
                logger='current',
                level=logging.WARNING,
            )

    def _use_compiled(self, runner, compiled: bool) -> None:
        self._backbone(runner)._compiled_call_impl = (
            self._compiled_call if compiled else None
        )

    def before_train_epoch(self, runner) -> None:
        self._use_compiled(runner, True)

    def before_val_epoch(self, runner) -> None:
        self._use_compiled(runner, False)

    def after_val_epoch(self, runner, metrics=None) -> None:
        # validation inside an epoch (iteration-based loops) resumes training
        self._use_compiled(runner, True)

    def before_test_epoch(self, runner) -> None:
        self._use_compiled(runner, False)
