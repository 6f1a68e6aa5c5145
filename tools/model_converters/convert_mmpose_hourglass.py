"""Convert an mmpose HourglassAENet checkpoint for aeplugin's HourglassAE.

python tools/model_converters/convert_mmpose_hourglass.py SRC DST
    [--unsafe-pickle]

Both networks build every unit from mmcv's ``ConvModule``, so a parameter
keeps its leaf name (``conv.weight``, ``bn.running_mean``, ...) and only the
module path changes. The whole mapping is the two tables below; ``i`` is the
stack index.

=====================================  ===================================
mmpose ``HourglassAENet``              aeplugin ``HourglassAE``
=====================================  ===================================
``stem.{j}``                           ``stem.{j}``
``hourglass_modules.{i}.0``            ``stacks.{i}.hourglass``
``hourglass_modules.{i}.1``            ``stacks.{i}.feature_convs.0``
``hourglass_modules.{i}.2``            ``stacks.{i}.feature_convs.1``
``out_convs.{i}``                      ``stacks.{i}.prediction_conv``
``remap_out_convs.{i}``                ``stacks.{i}.remap_prediction``
``remap_feature_convs.{i}``            ``stacks.{i}.remap_feature``
=====================================  ===================================

Inside an hourglass, every level of mmpose's (and the official code's)
recursive names maps one to one:

=========  ===============
mmpose     aeplugin
=========  ===============
``up1``    ``skip_conv``
``low1``   ``down_conv``
``low2``   ``inner``
``low3``   ``up_conv``
=========  ===============

e.g. ``backbone.hourglass_modules.1.0.low2.low2.up1.bn.weight`` becomes
``backbone.stacks.1.hourglass.inner.inner.skip_conv.bn.weight``.
"""

import argparse
import re
from typing import Dict, List, Optional

import torch
from torch import Tensor

STACK_RENAMES = (
    (r'stem\.(\d+)', 'stem.{}'),
    (r'hourglass_modules\.(\d+)\.1', 'stacks.{}.feature_convs.0'),
    (r'hourglass_modules\.(\d+)\.2', 'stacks.{}.feature_convs.1'),
    (r'out_convs\.(\d+)', 'stacks.{}.prediction_conv'),
    (r'remap_out_convs\.(\d+)', 'stacks.{}.remap_prediction'),
    (r'remap_feature_convs\.(\d+)', 'stacks.{}.remap_feature'),
)
HOURGLASS_PATTERN = r'hourglass_modules\.(\d+)\.0\.(.+)'
HOURGLASS_RENAMES = {
    'up1': 'skip_conv',
    'low1': 'down_conv',
    'low2': 'inner',
    'low3': 'up_conv',
}
# A ConvModule's parameters and buffers, named alike in both networks.
CONV_MODULE_LEAF = re.compile(
    r'\.(conv\.(weight|bias)|'
    r'bn\.(weight|bias|running_mean|running_var|num_batches_tracked))$'
)
PREFIX = 'backbone.'
CONVERSION_NOTE = (
    'converted from an mmpose HourglassAENet checkpoint by '
    'tools/model_converters/convert_mmpose_hourglass.py'
)


def _rename_module(path: str) -> Optional[str]:
    """Map an mmpose module path (no ``backbone.``) to ours, or ``None``."""
    for pattern, template in STACK_RENAMES:
        match = re.fullmatch(pattern, path)
        if match:
            return template.format(*match.groups())
    match = re.fullmatch(HOURGLASS_PATTERN, path)
    if match:
        stack_index, levels = match.groups()
        names = [HOURGLASS_RENAMES.get(name) for name in levels.split('.')]
        if None not in names:
            return f'stacks.{stack_index}.hourglass.' + '.'.join(names)
    return None


def convert_mmpose_hourglass_ae_state_dict(
    state_dict: Dict[str, Tensor],
) -> Dict[str, Tensor]:
    """Rename the keys of an mmpose ``HourglassAENet`` pose estimator.

    Note:
        - stack number: S

    Args:
        state_dict (dict[str, Tensor]): mmpose keys ``backbone.*`` (any S,
            any channels), as a ``BottomupPoseEstimator`` or mmpose 0.x
            ``AssociativeEmbedding`` whose head has no parameters

    Returns:
        dict[str, Tensor]: Same tensors, in the same order, under the keys of a
        ``BottomupPoseEstimator`` whose backbone is :class:`HourglassAE`

    Raises:
        ValueError: Naming every key that is not an mmpose ``HourglassAENet``
            key, or when ``state_dict`` is empty
    """
    if not state_dict:
        raise ValueError('state_dict is empty: no HourglassAENet keys')
    converted = {}
    unknown: List[str] = []
    for key, value in state_dict.items():
        leaf = CONV_MODULE_LEAF.search(key)
        new_path = None
        if key.startswith(PREFIX) and leaf:
            new_path = _rename_module(key[len(PREFIX) : leaf.start()])
        if new_path is None:
            unknown.append(key)
        else:
            converted[PREFIX + new_path + leaf.group()] = value
    if unknown:
        raise ValueError(
            f'{len(unknown)} key(s) of the checkpoint are not keys of an '
            'mmpose HourglassAENet under "backbone.": ' + ', '.join(unknown)
        )
    return converted


def convert_mmpose_hourglass_ae_checkpoint(
    src: str, dst: str, unsafe_pickle: bool = False
) -> None:
    """Convert an mmpose ``HourglassAENet`` checkpoint file.

    The output holds ``state_dict`` (see
    :func:`convert_mmpose_hourglass_ae_state_dict`) and ``meta``: the source
    ``meta`` if any, plus ``converted_by``. Optimizer and other training
    state is dropped: its parameter order belongs to the source model.

    Args:
        src (str): Checkpoint path; the state dict at ``state_dict`` or the
            whole file
        dst (str): Output path
        unsafe_pickle (bool): Unpickle arbitrary objects of ``src`` (only for
            trusted files whose ``meta`` holds more than plain types).
            Defaults to False

    Raises:
        ValueError: When ``src`` holds no state dict or unknown keys
    """
    checkpoint = torch.load(
        src, map_location='cpu', weights_only=not unsafe_pickle
    )
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{src} must hold a dict, got {type(checkpoint)}')
    state_dict = checkpoint.get('state_dict', checkpoint)
    meta = checkpoint.get('meta') if 'state_dict' in checkpoint else None
    meta = dict(meta or {})
    meta['converted_by'] = CONVERSION_NOTE
    torch.save(
        dict(
            state_dict=convert_mmpose_hourglass_ae_state_dict(state_dict),
            meta=meta,
        ),
        dst,
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an mmpose HourglassAENet checkpoint (keys '
        '"backbone.*") into one for a BottomupPoseEstimator whose backbone '
        "is aeplugin's HourglassAE"
    )
    parser.add_argument('src', help='mmpose checkpoint path')
    parser.add_argument('dst', help='output checkpoint path')
    parser.add_argument(
        '--unsafe-pickle',
        action='store_true',
        help='unpickle arbitrary objects of SRC (trusted files only, when '
        'its meta holds more than plain types)',
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    convert_mmpose_hourglass_ae_checkpoint(
        args.src, args.dst, args.unsafe_pickle
    )


if __name__ == '__main__':
    main()
