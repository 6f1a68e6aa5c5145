from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from aeplugin.registry import HOOKS


@HOOKS.register_module()
class CompileBackboneHook(Hook):
    """Compile the model's backbone with ``torch.compile`` before the run.

    The backbone holds nearly all of a step's work and has static shapes in
    training, so compiling it alone gets most of the gain without tracing
    the data preprocessor, the head's target handling or the grouping
    (mmengine's ``compile=True`` compiles the whole ``train_step``). The
    module is compiled in place (``nn.Module.compile``): parameter names and
    checkpoints stay as they are. The first steps are slow while it
    compiles (about 80 s for the paper network on an H200).

    ``tools/train.py --compile`` adds it.

    Args:
        backend (str): ``torch.compile``'s backend. Defaults to
            ``'inductor'``
        mode (str, optional): ``torch.compile``'s mode. Defaults to ``None``
    """

    priority = 'LOW'

    def __init__(self, backend: str = 'inductor', mode: Optional[str] = None):
        self.backend = backend
        self.mode = mode

    def before_run(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        model.backbone.compile(backend=self.backend, mode=self.mode)
