"""Export an AE model's network to ONNX for onnxruntime.

python tools/deployment/export_onnx.py CONFIG CHECKPOINT OUT.onnx
    [--flip] [--input-size W H | --dynamic] [--opset 17] [--dynamo]

The file holds backbone + head (``inputs`` -> ``heatmaps``, ``tags``); the
grouping stays in Python: run the file with ``aeplugin.apis.init_onnx_model``
and ``inference_bottomup``, or ``demo/image_demo.py CONFIG OUT.onnx``.
"""

import argparse

from aeplugin.apis import export_onnx, init_model


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('out', help='the .onnx file to write')
    # flip test's mirrored pass as a batch of two
    parser.add_argument('--flip', action='store_true', help='flip test')
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        '--input-size',
        nargs=2,
        type=int,
        metavar=('W', 'H'),
        help='a graph of this input size: every image is resized to fit it',
    )
    size.add_argument(
        '--dynamic',
        action='store_true',
        help='a graph of any batch, height and width (the default)',
    )
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset')
    parser.add_argument(
        '--dynamo',
        action='store_true',
        help="trace with torch.export (PyTorch's newer exporter) instead of "
        'TorchScript',
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model = init_model(args.config, args.checkpoint, device='cpu')
    out = export_onnx(
        model,
        args.out,
        flip=args.flip,
        input_size=args.input_size,
        opset_version=args.opset,
        dynamo=args.dynamo,
    )
    size = 'dynamic' if args.input_size is None else args.input_size
    print(f'{out}: flip={args.flip}, input size {size}')


if __name__ == '__main__':
    main()
