import subprocess
import sys

import pytest
from mmengine.registry import DefaultScope

from aeplugin.registry import KEYPOINT_CODECS, MODELS


@pytest.fixture
def aeplugin_scope():
    with DefaultScope.overwrite_default_scope('aeplugin'):
        yield


def test_plugin_and_mmpose_components_build_from_one_config(aeplugin_scope):
    from mmpose.models.losses import KeypointMSELoss

    from aeplugin.models.losses import AELoss

    cfg = dict(
        plugin=dict(type='AELoss', loss_weight=3.0),
        host=dict(type='KeypointMSELoss', use_target_weight=True),
        explicit=dict(type='mmpose.KeypointMSELoss'),
    )
    built = {k: MODELS.build(v) for k, v in cfg.items()}
    # AELoss exists only in the aeplugin scope: found there, arguments kept
    assert type(built['plugin']) is AELoss
    assert built['plugin'].loss_weight == 3.0
    # a name aeplugin does not register falls back to mmpose's
    assert type(built['host']) is KeypointMSELoss
    assert built['host'].use_target_weight is True
    assert type(built['explicit']) is KeypointMSELoss


def test_plugin_shadows_mmpose_name_and_prefix_reaches_mmpose(aeplugin_scope):
    import mmpose.models.heads as mmpose_heads

    from aeplugin.models.heads import AssociativeEmbeddingHead

    ours = MODELS.get('AssociativeEmbeddingHead')
    theirs = MODELS.get('mmpose.AssociativeEmbeddingHead')
    assert ours is AssociativeEmbeddingHead
    assert theirs is mmpose_heads.AssociativeEmbeddingHead
    assert ours is not theirs


def test_mmpose_code_builds_plugin_codec_in_plugin_scope(aeplugin_scope):
    from mmpose.datasets.transforms import GenerateTarget

    transform = GenerateTarget(
        encoder=dict(
            type='BottomupGrouping',
            input_size=(64, 64),
            heatmap_size=(16, 16),
            sigma=2,
        )
    )
    assert type(transform.encoder).__name__ == 'BottomupGrouping'
    assert type(transform.encoder).__module__.startswith('aeplugin.')
    assert KEYPOINT_CODECS.get(
        'mmpose.AssociativeEmbedding'
    ).__module__.startswith('mmpose.')


def test_import_is_cheap_and_silent():
    code = (
        'import sys, aeplugin; '
        'print(sorted(m for m in sys.modules '
        "if m.startswith('aeplugin.models') or m == 'mmpose.models'))"
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == '[]'
    assert out.stderr == ''


def test_every_registry_location_imports():
    import importlib

    import mmpose.registry as mmpose_registry
    from mmengine.registry import FUNCTIONS as mmengine_functions
    from mmengine.registry import Registry

    import aeplugin.registry as registry

    def nodes(module, scope):
        return {
            name: node
            for name, node in vars(module).items()
            if isinstance(node, Registry) and node.scope == scope
        }

    ours, theirs = (
        nodes(registry, 'aeplugin'),
        nodes(mmpose_registry, 'mmpose'),
    )
    # one child for every mmpose node, and one for mmengine's functions
    # (collate functions), which mmpose does not declare
    assert ours.keys() == theirs.keys() | {'FUNCTIONS'}
    theirs['FUNCTIONS'] = mmengine_functions
    for name, node in ours.items():
        assert node.parent is theirs[name]
        for location in node._locations:
            importlib.import_module(location)
