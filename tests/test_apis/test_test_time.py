import pytest
from mmengine.config import Config

from aeplugin.apis import DEFAULT_SCALES, apply_test_time_options

from .tiny_model import ROOT

PAPER = ROOT / 'configs' / 'ae_hourglass-4stack_8xb6-300e_coco-512x512.py'


@pytest.fixture
def cfg():
    return Config.fromfile(PAPER)


def _types(pipeline):
    return [t['type'] for t in pipeline]


def test_multiscale_swaps_in_the_pyramid_components(cfg):
    resize = dict(cfg.test_dataloader.dataset.pipeline[1])
    pack = dict(cfg.test_dataloader.dataset.pipeline[2])
    preprocessor = dict(cfg.model.data_preprocessor)
    val_pipeline = cfg.val_dataloader.dataset.pipeline

    apply_test_time_options(cfg, tta='multiscale')

    pipeline = cfg.test_dataloader.dataset.pipeline
    assert _types(pipeline) == [
        'LoadImage',
        'BottomupMultiScaleResize',
        'PackMultiScalePoseInputs',
    ]
    # the resize keeps its arguments and gains the official scales
    assert dict(pipeline[1]) == dict(
        resize, type='BottomupMultiScaleResize', scales=list(DEFAULT_SCALES)
    )
    assert dict(pipeline[2]) == dict(pack, type='PackMultiScalePoseInputs')
    assert cfg.model.type == 'MultiScaleBottomupPoseEstimator'
    # the configs' BottomupDataPreprocessor takes pyramids as it is
    assert dict(cfg.model.data_preprocessor) == dict(preprocessor)
    assert preprocessor['type'] == 'BottomupDataPreprocessor'
    assert cfg.model.test_cfg.multiscale_test is True
    assert cfg.model.test_cfg.flip_test is True
    assert cfg.model.test_cfg.restore_heatmap_size is True
    assert cfg.val_dataloader.dataset.pipeline == val_pipeline


def test_scales_flip_and_switching_back(cfg):
    resize = dict(cfg.test_dataloader.dataset.pipeline[1])
    apply_test_time_options(cfg, tta='multiscale', scales=[1, 0.5], flip=False)
    assert cfg.test_dataloader.dataset.pipeline[1].scales == [1, 0.5]
    assert cfg.model.test_cfg.flip_test is False

    # the config's scales stay when none are given
    apply_test_time_options(cfg, tta='multiscale')
    assert cfg.test_dataloader.dataset.pipeline[1].scales == [1, 0.5]
    assert cfg.model.test_cfg.flip_test is True

    apply_test_time_options(cfg, tta='flip')
    assert dict(cfg.test_dataloader.dataset.pipeline[1]) == resize
    assert cfg.test_dataloader.dataset.pipeline[2].type == 'PackPoseInputs'
    assert cfg.model.test_cfg.multiscale_test is False
    assert cfg.model.test_cfg.flip_test is True

    apply_test_time_options(cfg, tta='none')
    assert cfg.model.test_cfg.flip_test is False

    apply_test_time_options(cfg, flip=True)
    assert cfg.model.test_cfg.flip_test is True
    assert cfg.model.test_cfg.multiscale_test is False


def test_refine_and_adjust_switch_the_decoder(cfg):
    apply_test_time_options(cfg)
    assert 'refine' not in cfg.model.head.decoder
    assert 'adjust' not in cfg.model.head.decoder
    apply_test_time_options(cfg, refine=False)
    assert cfg.model.head.decoder.refine is False
    assert 'adjust' not in cfg.model.head.decoder
    apply_test_time_options(cfg, refine=True, adjust=False)
    assert cfg.model.head.decoder.refine is True
    assert cfg.model.head.decoder.adjust is False


def test_missing_test_cfg_is_created(cfg):
    del cfg.model.test_cfg
    apply_test_time_options(cfg, tta='flip')
    assert cfg.model.test_cfg == dict(multiscale_test=False, flip_test=True)


def test_clear_errors(cfg):
    with pytest.raises(ValueError, match='tta must be one of'):
        apply_test_time_options(cfg, tta='multi')
    with pytest.raises(ValueError, match="need tta='multiscale'"):
        apply_test_time_options(cfg, tta='flip', scales=[1, 2])
    with pytest.raises(ValueError, match='contradicts'):
        apply_test_time_options(cfg, tta='none', flip=True)
    with pytest.raises(ValueError, match='contradicts'):
        apply_test_time_options(cfg, tta='flip', flip=False)
    with pytest.raises(TypeError, match='mmengine Config'):
        apply_test_time_options(dict(cfg), tta='flip')

    udp = Config.fromfile(PAPER)
    udp.test_dataloader.dataset.pipeline[1].use_udp = True
    with pytest.raises(ValueError, match='use_udp'):
        apply_test_time_options(udp, tta='multiscale')

    no_resize = Config.fromfile(PAPER)
    del no_resize.test_dataloader.dataset.pipeline[1]
    with pytest.raises(ValueError, match='one resize transform'):
        apply_test_time_options(no_resize, tta='multiscale')

    topdown = Config.fromfile(PAPER)
    topdown.model.type = 'TopdownPoseEstimator'
    with pytest.raises(ValueError, match='model.type'):
        apply_test_time_options(topdown, tta='multiscale')

    mmpose_codec = Config.fromfile(PAPER)
    mmpose_codec.model.head.decoder.type = 'mmpose.AssociativeEmbedding'
    with pytest.raises(ValueError, match='BottomupGrouping'):
        apply_test_time_options(mmpose_codec, refine=False)
