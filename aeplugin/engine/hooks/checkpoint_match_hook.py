from mmengine.hooks import Hook

from aeplugin.registry import HOOKS

from ..checkpoint import check_checkpoint_matches


@HOOKS.register_module()
class CheckpointMatchHook(Hook):
    """Stop with a list of mismatched keys when the runner loads a
    checkpoint (``load_from``, ``tools/test.py CHECKPOINT``, ``--resume``)
    whose weights do not fit the model, instead of mmengine's warning and an
    evaluation of partly random weights.

    Runs in ``after_load_checkpoint``, which the runner calls with the
    loaded checkpoint before copying its weights into the model, so the file
    is read once.

    Args:
        allow_partial (bool): Load partial weights as mmengine does (with its
            warning), e.g. to fine-tune from a checkpoint with another head.
            Defaults to ``False``
    """

    priority = 'VERY_HIGH'

    def __init__(self, allow_partial: bool = False):
        self.allow_partial = allow_partial

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not self.allow_partial:
            # the path the tools set (a resume included); not in the dict
            source = runner.cfg.get('load_from')
            check_checkpoint_matches(runner.model, checkpoint, source)
