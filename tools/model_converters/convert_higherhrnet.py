"""Convert an official HigherHRNet checkpoint for aeplugin's HigherHRNet
configs (and back).

python tools/model_converters/convert_higherhrnet.py SRC DST --config CONFIG
    [--reverse] [--unsafe-pickle]

The official ``PoseHigherResolutionNet`` (``lib/models/pose_higher_hrnet.py``
of HRNet/HigherHRNet-Human-Pose-Estimation; checkpoints
``pose_higher_hrnet_w32_512.pth``, ``pose_higher_hrnet_w32_640.pth``,
``pose_higher_hrnet_w48_640.pth``) names its backbone as mmpose's ``HRNet``
does, so those keys only gain ``backbone.``; its two output layers and its
deconvolution stage become the head's. The whole mapping (``b`` is the
basic block index, 0 to 3):

==============================  ====================================
official                        aeplugin ``BottomupPoseEstimator``
==============================  ====================================
``conv1``, ``bn1``, ``conv2``,  ``backbone.`` + the same key
``bn2``, ``layer1``,
``transition{1,2,3}``,
``stage{2,3,4}``
``final_layers.0``              ``head.final_layer``
``deconv_layers.0.0.0``         ``head.higher_deconv_layers.0``
(transposed conv)
``deconv_layers.0.0.1`` (BN)    ``head.higher_deconv_layers.1``
``deconv_layers.0.{b+1}.0``     ``head.higher_deconv_layers.{b+3}``
(basic block)
``final_layers.1``              ``head.higher_final_layer``
==============================  ====================================

The parameter and buffer names inside each module (``weight``, ``bias``,
``running_mean``, ``running_var``, ``num_batches_tracked``, ``conv1``,
``bn1``, ... of a basic block) are the same on both sides. ``final_layers.0``
holds K heatmaps then K tags (``TAG_PER_JOINT``), the order of the head's
``final_layer``. A leading ``module.`` (a checkpoint saved from
``DataParallel``) is dropped.

Every key of the checkpoint must map, and the converted keys and shapes
must be exactly those of the model that ``--config`` builds: a checkpoint of
another width (w48 for a w32 config) stops with the width of each.
"""

import argparse
import re
from typing import Dict, List, Mapping, Optional, Tuple

import torch
from torch import Tensor

BACKBONE_ROOTS = (
    'conv1',
    'bn1',
    'conv2',
    'bn2',
    'layer1',
    'transition1',
    'transition2',
    'transition3',
    'stage2',
    'stage3',
    'stage4',
)
# (official, ours) module paths of the head; the basic blocks follow
HEAD_RENAMES = (
    ('final_layers.0', 'head.final_layer'),
    ('final_layers.1', 'head.higher_final_layer'),
    ('deconv_layers.0.0.0', 'head.higher_deconv_layers.0'),
    ('deconv_layers.0.0.1', 'head.higher_deconv_layers.1'),
)
# the final 1x1 conv, whose input channels are the HRNet width
FINAL_WEIGHT = ('final_layers.0.weight', 'head.final_layer.weight')
OFFICIAL_BLOCK = re.compile(r'deconv_layers\.0\.(\d+)\.0\.(.+)')
OUR_BLOCK = re.compile(r'head\.higher_deconv_layers\.(\d+)\.(.+)')
# the higher_deconv_layers index of the first basic block (after the
# transposed conv, its BN and the ReLU)
FIRST_BLOCK = 3
CONVERSION_NOTE = (
    'converted from an official HigherHRNet checkpoint by '
    'tools/model_converters/convert_higherhrnet.py'
)


def official_to_ours_key(key: str) -> Optional[str]:
    """Our key of an official ``PoseHigherResolutionNet`` key, or ``None``
    when it is not one."""
    if key.split('.', 1)[0] in BACKBONE_ROOTS:
        return 'backbone.' + key
    module, _, leaf = key.rpartition('.')
    for official, ours in HEAD_RENAMES:
        if module == official:
            return f'{ours}.{leaf}'
    match = OFFICIAL_BLOCK.fullmatch(key)
    if match and int(match.group(1)) >= 1:
        index = int(match.group(1)) - 1 + FIRST_BLOCK
        return f'head.higher_deconv_layers.{index}.{match.group(2)}'
    return None


def ours_to_official_key(key: str) -> Optional[str]:
    """The official key of one of ours, or ``None`` when it is not one."""
    if key.startswith('backbone.'):
        rest = key[len('backbone.') :]
        if rest.split('.', 1)[0] in BACKBONE_ROOTS:
            return rest
        return None
    module, _, leaf = key.rpartition('.')
    for official, ours in HEAD_RENAMES:
        if module == ours:
            return f'{official}.{leaf}'
    match = OUR_BLOCK.fullmatch(key)
    if match and int(match.group(1)) >= FIRST_BLOCK:
        index = int(match.group(1)) - FIRST_BLOCK + 1
        return f'deconv_layers.0.{index}.0.{match.group(2)}'
    return None


def _width(state_dict: Mapping[str, Tensor], key: str) -> str:
    """The HRNet width (channels of the highest-resolution branch) that a
    state dict's final 1x1 conv reads, for error messages."""
    weight = state_dict.get(key)
    return 'unknown' if weight is None else str(weight.shape[1])


def convert_state_dict(
    state_dict: Mapping[str, Tensor],
    reference: Mapping[str, Tensor],
    reverse: bool = False,
) -> Dict[str, Tensor]:
    """Rename an official state dict to ours (or ours to the official one
    with ``reverse``), checked against the target model's state dict.

    Note:
        - keypoint number: K
        - HRNet width: C (channels of the highest-resolution branch)

    Args:
        state_dict (Mapping[str, Tensor]): The source keys, e.g.
            ``final_layers.0.weight`` (2K, C, 1, 1)
        reference (Mapping[str, Tensor]): The target model's state dict
            (keys and shapes to match)
        reverse (bool): Convert ours to the official layout. Defaults to
            ``False``

    Returns:
        dict[str, Tensor]: The same tensors under the target's keys

    Raises:
        ValueError: Naming the HRNet width of both when a shape differs, and
            every source key without a target and every target key left
            without a value
    """
    if not state_dict:
        raise ValueError('state_dict is empty: no HigherHRNet keys')
    rename = ours_to_official_key if reverse else official_to_ours_key
    source_final, target_final = (
        FINAL_WEIGHT[::-1] if reverse else FINAL_WEIGHT
    )
    if not reverse:
        state_dict = {
            key.removeprefix('module.'): value
            for key, value in state_dict.items()
        }
    converted, unknown, mismatched = {}, [], []
    for key, value in state_dict.items():
        new_key = rename(key)
        if new_key is None or new_key not in reference:
            unknown.append(key)
            continue
        if tuple(value.shape) != tuple(reference[new_key].shape):
            mismatched.append(
                f'{key} {tuple(value.shape)} -> {new_key} '
                f'{tuple(reference[new_key].shape)}'
            )
        converted[new_key] = value
    if mismatched:
        raise ValueError(
            f'the checkpoint is an HRNet of width '
            f'{_width(state_dict, source_final)} but the config builds '
            f'width {_width(reference, target_final)} (or another keypoint '
            f'number): {len(mismatched)} shape(s) differ, e.g. '
            + '; '.join(mismatched[:3])
        )
    missing = [key for key in reference if key not in converted]
    if unknown or missing:
        raise ValueError(
            f'{len(unknown)} key(s) of the checkpoint have no place in the '
            f'model: {", ".join(unknown) or "none"}; {len(missing)} key(s) of '
            f'the model get no value: {", ".join(missing) or "none"}'
        )
    return converted


def _reference_state_dict(config: str, reverse: bool) -> Dict[str, Tensor]:
    """The target state dict: our model built from ``config`` or, with
    ``reverse``, the official layout of it."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    import aeplugin  # noqa: F401  (registers the components)
    from aeplugin.registry import MODELS

    cfg = Config.fromfile(config)
    backbone = cfg.model.backbone
    backbone.pop('init_cfg', None)  # no download: shapes only
    with DefaultScope.overwrite_default_scope('aeplugin'):
        ours = MODELS.build(cfg.model).state_dict()
    if not reverse:
        return ours
    return {ours_to_official_key(k): v for k, v in ours.items()}


def convert_checkpoint(
    src: str,
    dst: str,
    config: str,
    reverse: bool = False,
    unsafe_pickle: bool = False,
) -> Tuple[int, List[str]]:
    """Convert a checkpoint file; see :func:`convert_state_dict`.

    The output holds ``state_dict`` and ``meta`` (the source's, if any,
    plus ``converted_by``); optimizer state is dropped.

    Args:
        src (str): Checkpoint path: a state dict, or a dict holding one at
            ``state_dict``
        dst (str): Output path
        config (str): The aeplugin config whose model the weights fit
        reverse (bool): Convert an aeplugin checkpoint to the official
            layout. Defaults to ``False``
        unsafe_pickle (bool): Unpickle arbitrary objects of ``src`` (trusted
            files only). Defaults to ``False``

    Returns:
        tuple: the number of tensors written and the first few keys
    """
    checkpoint = torch.load(
        src, map_location='cpu', weights_only=not unsafe_pickle
    )
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{src} must hold a dict, got {type(checkpoint)}')
    state_dict = checkpoint.get('state_dict', checkpoint)
    meta = checkpoint.get('meta') if 'state_dict' in checkpoint else None
    converted = convert_state_dict(
        state_dict, _reference_state_dict(config, reverse), reverse
    )
    meta = dict(meta or {})
    meta['converted_by'] = CONVERSION_NOTE
    torch.save(dict(state_dict=converted, meta=meta), dst)
    return len(converted), list(converted)[:3]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official HigherHRNet checkpoint '
        '(pose_higher_hrnet_w32_512.pth, ...) into one for an aeplugin '
        'HigherHRNet config, or back with --reverse'
    )
    parser.add_argument('src', help='source checkpoint path')
    parser.add_argument('dst', help='output checkpoint path')
    parser.add_argument(
        '--config',
        required=True,
        help='the aeplugin config the weights are for (its width and '
        'keypoints are checked)',
    )
    parser.add_argument(
        '--reverse',
        action='store_true',
        help='convert an aeplugin checkpoint to the official layout',
    )
    parser.add_argument(
        '--unsafe-pickle',
        action='store_true',
        help='unpickle arbitrary objects of SRC (trusted files only)',
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    count, _ = convert_checkpoint(
        args.src, args.dst, args.config, args.reverse, args.unsafe_pickle
    )
    print(f'wrote {count} tensors to {args.dst}')


if __name__ == '__main__':
    main()
