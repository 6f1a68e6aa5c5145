"""Network inference on the CPU: onnxruntime against PyTorch.

python tools/benchmark/onnx_inference.py [CONFIG] [--sizes 256 512]
    [--flip] [--repeat 5] [--threads N] [--out FILE]

The config's network (default: the paper's 4-stack hourglass), with random
O(1) weights, exported by ``aeplugin.apis.export_onnx`` at each square
input size, and timed at batch 1 in alternating rounds against the same
forward in PyTorch (``ExportedNetwork``), both on the CPU with the same
number of threads. Also checked: the largest difference of their outputs,
relative to the largest output.
The grouping after it is the same Python code in both.
"""

import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from aeplugin.apis import ExportedNetwork, export_onnx, init_model
from aeplugin.testing import randomize_weights_

if not __package__:  # run as a script: import tools.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.benchmark import common  # noqa: E402

PAPER_CONFIG = (
    Path(__file__).resolve().parents[2]
    / 'configs/ae_hourglass-4stack_8xb6-300e_coco-512x512.py'
)


def run_onnx_benchmark(
    config: str = str(PAPER_CONFIG),
    sizes: Sequence[int] = (256, 512),
    flip: bool = False,
    repeat: int = 5,
    warmup: int = 1,
    threads: Optional[int] = None,
) -> dict:
    """Time the network's forward in onnxruntime and in PyTorch.

    Args:
        config (str): The model config
        sizes (Sequence[int]): Square input sides, multiples of 64
        flip (bool): Export and time the flip test's two passes
        repeat (int): Timed rounds. Defaults to 5
        warmup (int): Untimed rounds. Defaults to 1
        threads (int, optional): Threads of both runtimes; ``None`` keeps
            torch's count

    Returns:
        dict: ``settings``, ``rows`` (per size: ``torch_ms``, ``onnx_ms``,
        ``speedup`` of onnxruntime and ``max_rel_diff``, the largest
        difference over the largest output), ``machine``
    """
    import onnxruntime

    model = randomize_weights_(init_model(config, None, device='cpu'))
    network = ExportedNetwork(model, flip).eval()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    with tempfile.TemporaryDirectory() as folder:
        rows = [
            _time_size(
                model, network, size, Path(folder), options, repeat, warmup
            )
            for size in sizes
        ]
    return dict(
        benchmark='onnx_inference',
        settings=dict(
            config=str(config),
            flip=flip,
            batch_size=1,
            repeat=repeat,
            warmup=warmup,
            onnxruntime=onnxruntime.__version__,
            threads=options.intra_op_num_threads,
        ),
        rows=rows,
        machine=common.describe_machine(),
    )


def _time_size(
    model, network, size: int, folder: Path, options, repeat, warmup
) -> dict:
    """Export the network at ``size`` and time both runtimes on it."""
    import onnxruntime

    path = export_onnx(
        model, folder / f'{size}.onnx', network.flip, (size, size)
    )
    session = onnxruntime.InferenceSession(
        str(path), options, providers=['CPUExecutionProvider']
    )
    inputs = torch.randn(
        1, 3, size, size, generator=torch.Generator().manual_seed(0)
    )
    feed = {'inputs': inputs.numpy()}

    def run_torch():
        with torch.no_grad():
            return network(inputs)

    def run_onnx():
        return session.run(None, feed)

    times = common.time_interleaved(
        dict(torch=[run_torch], onnx=[run_onnx]), repeat, warmup
    )
    return dict(
        size=size,
        torch_ms=times['torch']['median_s'] * 1e3,
        onnx_ms=times['onnx']['median_s'] * 1e3,
        speedup=common.speedup(times['onnx'], times['torch']),
        # random weights give outputs of any size: relative to the largest
        max_rel_diff=max(
            float(np.abs(a.numpy() - b).max() / np.abs(a.numpy()).max())
            for a, b in zip(run_torch(), run_onnx())
        ),
    )


def parse_args(argv=None):
    parser = common.benchmark_parser(__doc__, 'onnx_inference', threads=None)
    parser.add_argument('config', nargs='?', default=str(PAPER_CONFIG))
    parser.add_argument('--sizes', nargs='+', type=int, default=[256, 512])
    parser.add_argument('--flip', action='store_true')
    parser.add_argument('--repeat', type=int, default=5)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    common.set_threads(args.threads)
    result = run_onnx_benchmark(
        args.config,
        args.sizes,
        args.flip,
        args.repeat,
        args.warmup,
        args.threads,
    )
    table = common.format_table(
        ('input', 'torch ms', 'onnxruntime ms', 'speedup', 'max rel. diff'),
        [
            (
                f'{r["size"]}x{r["size"]}',
                r['torch_ms'],
                r['onnx_ms'],
                r['speedup'],
                r['max_rel_diff'],
            )
            for r in result['rows']
        ],
    )
    common.report(
        result,
        args.out,
        f'{Path(args.config).name}, batch 1, flip={args.flip}, '
        f'{result["settings"]["threads"]} threads',
        table,
    )


if __name__ == '__main__':
    main()
