"""Parameters and forward multiply-adds of configs' networks.

    python tools/benchmark/model_cost.py [CONFIG ...] [--size N] [--out FILE]

Each config's model (its backbone and head, built without pretrained
weights) runs one forward of a (1, 3, N, N) input (default: the config's
training input) under ``torch.utils.flop_counter.FlopCounterMode``;
the table gives its parameters and its multiply-adds (half the counter's
FLOPs), the unit the HRNet and HigherHRNet papers call GFLOPs (47.9 for
HigherHRNet-w32 at 512). The default configs are the paper hourglass and
the three HigherHRNet configs.
"""

import sys
from pathlib import Path
from typing import Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch.utils.flop_counter import FlopCounterMode

import aeplugin  # noqa: F401  (registers the components)
from aeplugin.registry import MODELS

if not __package__:  # run as a script: import tools.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.benchmark import common  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIGS = [
    REPO / 'configs' / name
    for name in (
        'ae_hourglass-4stack_8xb6-300e_coco-512x512.py',
        'ae_higherhrnet-w32_8xb12-300e_coco-512x512.py',
        'ae_higherhrnet-w32_8xb12-300e_coco-640x640.py',
        'ae_higherhrnet-w48_8xb10-300e_coco-640x640.py',
    )
]


def model_cost(config, size: Optional[int] = None) -> dict:
    """``config``'s network: ``params``, ``gmacs`` of one forward of a
    (1, 3, size, size) input (default: the codec's input, w x h) and the
    ``outputs`` shapes of the head's ``forward``."""
    cfg = Config.fromfile(str(config))
    cfg.model.backbone.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('aeplugin'):
        model = MODELS.build(cfg.model).eval()
    width, height = (size, size) if size else cfg.codec['input_size']
    inputs = torch.zeros(1, 3, height, width)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        outputs = model.head.forward(model.extract_feat(inputs))
    return dict(
        config=Path(config).name,
        size=f'{width}x{height}',
        params=sum(p.numel() for p in model.parameters()),
        gmacs=counter.get_total_flops() / 2e9,
        outputs=[list(o.shape) for o in outputs],
    )


def run_model_cost(
    configs: Sequence = DEFAULT_CONFIGS, size: Optional[int] = None
) -> dict:
    """:func:`model_cost` of every config, with the machine."""
    return dict(
        machine=common.describe_machine('cpu'),
        cases=[model_cost(config, size) for config in configs],
    )


def main(argv=None):
    parser = common.benchmark_parser(__doc__, 'model_cost', threads=None)
    parser.add_argument('configs', nargs='*', default=DEFAULT_CONFIGS)
    parser.add_argument('--size', type=int, default=None)
    args = parser.parse_args(argv)
    common.set_threads(args.threads)
    result = run_model_cost(args.configs, args.size)
    table = common.format_table(
        ['config', 'input', 'params (M)', 'GMACs', 'outputs'],
        [
            [
                c['config'],
                c['size'],
                c['params'] / 1e6,
                c['gmacs'],
                ' '.join('x'.join(map(str, s)) for s in c['outputs']),
            ]
            for c in result['cases']
        ],
    )
    common.report(result, args.out, table)


if __name__ == '__main__':
    main()
