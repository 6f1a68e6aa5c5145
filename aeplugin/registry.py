"""Registry nodes of the ``aeplugin`` scope.

Every node is a child of the mmpose node of the same name, so with
``default_scope = 'aeplugin'`` a plain ``type='X'`` finds the plugin's ``X``
first and falls back to mmpose's (and mmengine's), while ``type='mmpose.X'``
always means mmpose's.

A parent registry's modules are not imported when a child falls back to it,
so each node lists the mmpose locations before its own.
"""

from mmengine import registry as mmengine_registry
from mmengine.registry import Registry
from mmpose import registry as mmpose_registry

RUNNERS = Registry('runner', parent=mmpose_registry.RUNNERS, scope='aeplugin')
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor',
    parent=mmpose_registry.RUNNER_CONSTRUCTORS,
    scope='aeplugin',
)
LOOPS = Registry('loop', parent=mmpose_registry.LOOPS, scope='aeplugin')
HOOKS = Registry(
    'hook',
    parent=mmpose_registry.HOOKS,
    scope='aeplugin',
    locations=['mmpose.engine.hooks', 'aeplugin.engine.hooks'],
)

DATASETS = Registry(
    'dataset',
    parent=mmpose_registry.DATASETS,
    scope='aeplugin',
    locations=['mmpose.datasets', 'aeplugin.datasets'],
)
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=mmpose_registry.DATA_SAMPLERS,
    scope='aeplugin',
    locations=['mmpose.datasets.samplers', 'aeplugin.datasets.samplers'],
)
TRANSFORMS = Registry(
    'transform',
    parent=mmpose_registry.TRANSFORMS,
    scope='aeplugin',
    locations=['mmpose.datasets.transforms', 'aeplugin.datasets.transforms'],
)

MODELS = Registry(
    'model',
    parent=mmpose_registry.MODELS,
    scope='aeplugin',
    locations=['mmpose.models', 'aeplugin.models'],
)
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=mmpose_registry.MODEL_WRAPPERS,
    scope='aeplugin',
    locations=['mmpose.models', 'aeplugin.engine.model_wrappers'],
)
WEIGHT_INITIALIZERS = Registry(
    'weight initializer',
    parent=mmpose_registry.WEIGHT_INITIALIZERS,
    scope='aeplugin',
    locations=['mmpose.models'],
)
BATCH_AUGMENTS = Registry(
    'batch augment',
    parent=mmpose_registry.BATCH_AUGMENTS,
    scope='aeplugin',
    locations=['mmpose.models'],
)

OPTIMIZERS = Registry(
    'optimizer',
    parent=mmpose_registry.OPTIMIZERS,
    scope='aeplugin',
    locations=['mmpose.engine'],
)
OPTIM_WRAPPERS = Registry(
    'optimizer_wrapper',
    parent=mmpose_registry.OPTIM_WRAPPERS,
    scope='aeplugin',
    locations=['mmpose.engine', 'aeplugin.engine.optim_wrappers'],
)
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=mmpose_registry.OPTIM_WRAPPER_CONSTRUCTORS,
    scope='aeplugin',
    locations=['mmpose.engine.optim_wrappers'],
)
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=mmpose_registry.PARAM_SCHEDULERS,
    scope='aeplugin',
    locations=['mmpose.engine.schedulers'],
)

METRICS = Registry(
    'metric',
    parent=mmpose_registry.METRICS,
    scope='aeplugin',
    locations=['mmpose.evaluation.metrics', 'aeplugin.evaluation'],
)
EVALUATORS = Registry(
    'evaluator',
    parent=mmpose_registry.EVALUATORS,
    scope='aeplugin',
    locations=['mmpose.evaluation.evaluators'],
)

TASK_UTILS = Registry(
    'task util',
    parent=mmpose_registry.TASK_UTILS,
    scope='aeplugin',
    locations=['mmpose.models.task_modules'],
)

VISUALIZERS = Registry(
    'visualizer',
    parent=mmpose_registry.VISUALIZERS,
    scope='aeplugin',
    locations=['mmpose.visualization', 'aeplugin.visualization'],
)
VISBACKENDS = Registry(
    'vis_backend',
    parent=mmpose_registry.VISBACKENDS,
    scope='aeplugin',
    locations=['mmpose.visualization'],
)
LOG_PROCESSORS = Registry(
    'log processor',
    parent=mmpose_registry.LOG_PROCESSORS,
    scope='aeplugin',
    locations=['mmpose.visualization'],
)

# mmpose declares no function node. mmengine's Runner looks a collate_fn up
# in mmengine's own node, so a config names ours with its scope:
# collate_fn=dict(type='aeplugin.bottomup_collate').
FUNCTIONS = Registry(
    'function',
    parent=mmengine_registry.FUNCTIONS,
    scope='aeplugin',
    locations=['aeplugin.datasets'],
)

KEYPOINT_CODECS = Registry(
    'KEYPOINT_CODECS',
    parent=mmpose_registry.KEYPOINT_CODECS,
    scope='aeplugin',
    locations=['mmpose.codecs', 'aeplugin.codecs'],
)

INFERENCERS = Registry(
    'inferencer',
    parent=mmpose_registry.INFERENCERS,
    scope='aeplugin',
    locations=['mmpose.apis.inferencers'],
)
