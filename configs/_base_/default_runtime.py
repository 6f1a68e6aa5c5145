# mmpose's runtime (hooks, logger, visualizer, env), in the aeplugin scope.
_base_ = 'mmpose::_base_/default_runtime.py'

default_scope = 'aeplugin'
custom_imports = dict(imports=['aeplugin'], allow_failed_imports=False)
