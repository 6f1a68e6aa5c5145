"""Test-time options of a bottom-up AE config, set without editing it."""

from typing import Optional, Sequence

from mmengine.config import Config, ConfigDict

TTA_MODES = ('none', 'flip', 'multiscale')
# The scales of the official AE test code.
DEFAULT_SCALES = (2.0, 1.0, 0.5)

_SINGLE_RESIZE = 'BottomupResize'
_MULTI_RESIZE = 'BottomupMultiScaleResize'
_SINGLE_PACK = 'PackPoseInputs'
_MULTI_PACK = 'PackMultiScalePoseInputs'
_PREPROCESSORS = (
    'PoseDataPreprocessor',
    'MultiScalePoseDataPreprocessor',
    'BottomupDataPreprocessor',
)
_ESTIMATORS = ('BottomupPoseEstimator', 'MultiScaleBottomupPoseEstimator')


def _type_name(cfg: dict) -> str:
    """The registered name of a config's ``type``, without any scope."""
    kind = cfg.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    return name.rsplit('.', 1)[-1]


def _find(pipeline: list, names: Sequence[str], what: str) -> int:
    found = [i for i, t in enumerate(pipeline) if _type_name(t) in names]
    if len(found) != 1:
        got = [_type_name(t) for t in pipeline]
        raise ValueError(
            f'test_dataloader.dataset.pipeline needs exactly one {what} '
            f'({" or ".join(names)}), got the pipeline {got}'
        )
    return found[0]


def _set_scales(cfg: Config, scales: Optional[Sequence[float]]) -> None:
    """Switch the test pipeline and data preprocessor to multi-scale input,
    or back to one scale with ``scales=None``."""
    pipeline = [dict(t) for t in cfg.test_dataloader.dataset.pipeline]
    resize_at = _find(
        pipeline, (_SINGLE_RESIZE, _MULTI_RESIZE), 'resize transform'
    )
    pack_at = _find(pipeline, (_SINGLE_PACK, _MULTI_PACK), 'packing')
    resize = {
        k: v
        for k, v in pipeline[resize_at].items()
        if k not in ('type', 'scales', 'aug_scales')
    }
    pack = {k: v for k, v in pipeline[pack_at].items() if k != 'type'}
    if scales is None:
        pipeline[resize_at] = dict(type=_SINGLE_RESIZE, **resize)
        pipeline[pack_at] = dict(type=_SINGLE_PACK, **pack)
    else:
        if resize.pop('use_udp', False):
            raise ValueError(
                'multi-scale test does not support BottomupResize(use_udp='
                'True): its UDP resize does not pad to the input size'
            )
        pipeline[resize_at] = dict(
            type=_MULTI_RESIZE, scales=list(scales), **resize
        )
        pipeline[pack_at] = dict(type=_MULTI_PACK, **pack)
        preprocessor = cfg.model.get('data_preprocessor')
        if preprocessor is None or _type_name(preprocessor) not in (
            _PREPROCESSORS
        ):
            raise ValueError(
                'multi-scale test needs model.data_preprocessor of type '
                f'{" or ".join(_PREPROCESSORS)}, got {preprocessor}'
            )
        if _type_name(cfg.model) not in _ESTIMATORS:
            raise ValueError(
                'multi-scale test needs model.type '
                f'{" or ".join(_ESTIMATORS)}, got {cfg.model.type}'
            )
        if _type_name(preprocessor) == 'PoseDataPreprocessor':
            # ours (BottomupDataPreprocessor among them) take pyramids
            preprocessor.type = 'MultiScalePoseDataPreprocessor'
        cfg.model.type = 'MultiScaleBottomupPoseEstimator'
    cfg.test_dataloader.dataset.pipeline = pipeline


def _current_scales(cfg: Config) -> Optional[list]:
    for t in cfg.test_dataloader.dataset.pipeline:
        if _type_name(t) == _MULTI_RESIZE:
            return list(t.get('scales', [1.0]))
    return None


def apply_test_time_options(
    cfg: Config,
    tta: Optional[str] = None,
    scales: Optional[Sequence[float]] = None,
    flip: Optional[bool] = None,
    refine: Optional[bool] = None,
    adjust: Optional[bool] = None,
) -> Config:
    """Set how a bottom-up AE config tests, in place. ``None`` keeps what
    the config says.

    - ``tta='none'``: one scale, no flip; ``'flip'``: one scale with flip
      test (heatmaps averaged with left/right swapped, the flipped pass's
      tags concatenated); ``'multiscale'``: every scale of ``scales``
      (default :data:`DEFAULT_SCALES`, or the config's) with flip unless
      ``flip=False``: heatmaps averaged at the scale-1 size, tags of every
      scale and flip concatenated.
    - Multi-scale swaps the test pipeline's ``BottomupResize`` and
      ``PackPoseInputs`` for :class:`BottomupMultiScaleResize` (its other
      arguments kept) and :class:`PackMultiScalePoseInputs`, and the
      model's ``BottomupPoseEstimator`` and ``PoseDataPreprocessor`` for
      :class:`MultiScaleBottomupPoseEstimator` and
      :class:`MultiScalePoseDataPreprocessor` (which also run single-scale
      inputs as mmpose's do); ``'none'`` and ``'flip'`` swap the transforms
      back.
    - ``refine`` and ``adjust`` switch the ``BottomupGrouping`` decoder's
      options of those names.

    Only ``test_dataloader`` and ``model`` change (what ``tools/test.py``
    and :func:`aeplugin.apis.init_model` use).

    Args:
        cfg (Config): A config with ``model.test_cfg`` (created if missing),
            ``model.head.decoder`` and ``test_dataloader.dataset.pipeline``
        tta (str, optional): One of :data:`TTA_MODES`
        scales (Sequence[float], optional): Test scales, including 1.0;
            only with ``tta='multiscale'``
        flip (bool, optional): Flip test; contradicting ``tta`` is an error
        refine (bool, optional): Fill missing keypoints by tag
        adjust (bool, optional): Quarter-pixel keypoint adjustment

    Returns:
        Config: ``cfg``
    """
    if not isinstance(cfg, Config):
        raise TypeError(f'cfg must be an mmengine Config, got {type(cfg)}')
    if tta is not None and tta not in TTA_MODES:
        raise ValueError(f'tta must be one of {TTA_MODES}, got {tta!r}')
    if scales is not None and tta != 'multiscale':
        raise ValueError(
            f"scales {list(scales)} need tta='multiscale', got tta={tta!r}"
        )
    if (tta, flip) in (('none', True), ('flip', False)):
        raise ValueError(f'tta={tta!r} contradicts flip={flip}')

    if cfg.model.get('test_cfg') is None:
        cfg.model.test_cfg = ConfigDict()
    test_cfg = cfg.model.test_cfg
    if tta in ('none', 'flip'):
        _set_scales(cfg, None)
        test_cfg.multiscale_test = False
        test_cfg.flip_test = tta == 'flip'
    elif tta == 'multiscale':
        if scales is None:
            scales = _current_scales(cfg) or DEFAULT_SCALES
        _set_scales(cfg, scales)
        test_cfg.multiscale_test = True
        test_cfg.flip_test = True if flip is None else flip
    elif flip is not None:
        test_cfg.flip_test = flip

    switches = dict(refine=refine, adjust=adjust)
    if any(v is not None for v in switches.values()):
        decoder = cfg.model.head.get('decoder')
        if decoder is None or _type_name(decoder) not in (
            'BottomupGrouping',
            'HigherBottomupGrouping',
        ):
            raise ValueError(
                'refine and adjust are options of the BottomupGrouping '
                '(or HigherBottomupGrouping) decoder, got '
                f'model.head.decoder={decoder}'
            )
        for name, value in switches.items():
            if value is not None:
                decoder[name] = bool(value)
    return cfg


def fit_test_input(cfg: Config, input_size: Sequence[int]) -> Config:
    """Make the test pipeline give every image one input size, in place:
    its ``BottomupResize`` fits the image into ``input_size`` and pads the
    rest (``resize_mode='fit'``), for a network exported at a fixed size.

    Args:
        cfg (Config): A single-scale config (``BottomupResize`` in
            ``test_dataloader.dataset.pipeline``)
        input_size (Sequence[int]): (W, H), multiples of the resize's
            ``size_factor``

    Returns:
        Config: ``cfg``
    """
    pipeline = [dict(t) for t in cfg.test_dataloader.dataset.pipeline]
    at = _find(pipeline, (_SINGLE_RESIZE, _MULTI_RESIZE), 'resize transform')
    if _type_name(pipeline[at]) != _SINGLE_RESIZE:
        raise ValueError(
            'a fixed input size takes one scale: multi-scale test resizes '
            'each image to several sizes (export with --dynamic)'
        )
    W, H = (int(v) for v in input_size)
    factor = test_size_factor(cfg)
    if W <= 0 or H <= 0 or W % factor or H % factor:
        raise ValueError(
            f'input size {W}x{H} must be positive multiples of the test '
            f"resize's size_factor {factor}"
        )
    pipeline[at].update(input_size=(W, H), resize_mode='fit')
    cfg.test_dataloader.dataset.pipeline = pipeline
    return cfg


def test_size_factor(cfg: Config) -> int:
    """The multiple that the test pipeline's resize rounds every input
    side up to (its ``size_factor``; mmpose's default 32)."""
    pipeline = cfg.test_dataloader.dataset.pipeline
    at = _find(pipeline, (_SINGLE_RESIZE, _MULTI_RESIZE), 'resize transform')
    return int(pipeline[at].get('size_factor', 32))
