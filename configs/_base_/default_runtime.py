# mmpose's runtime (hooks, logger, visualizer, env), in the aeplugin scope.
_base_ = 'mmpose::_base_/default_runtime.py'

default_scope = 'aeplugin'
custom_imports = dict(imports=['aeplugin'], allow_failed_imports=False)

# Same as mmengine's default wrapper on GPUs; also runs on CPU (gloo).
model_wrapper_cfg = dict(type='DeviceAwareDistributedDataParallel')
