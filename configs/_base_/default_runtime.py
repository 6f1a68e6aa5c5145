# mmpose's runtime (hooks, logger, visualizer, env), in the aeplugin scope.
_base_ = 'mmpose::_base_/default_runtime.py'

default_scope = 'aeplugin'
custom_imports = dict(imports=['aeplugin'], allow_failed_imports=False)

# mmengine's own DDP wrapper, minus the device_ids=[LOCAL_RANK] its Runner
# adds: DistributedDataParallel rejects device ids for CPU modules (gloo),
# and on GPUs the data preprocessor already moves inputs to the model's
# device. One code path for CPU and GPU runs.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel',
    device_ids=None,
    broadcast_buffers=False,
    find_unused_parameters=False,
)
