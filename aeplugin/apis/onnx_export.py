"""Export an AE model's network (backbone and head) to ONNX.

The grouping stays in Python, as in PaddleDetection's and rtmlib's
bottom-up deployments: :func:`aeplugin.apis.init_onnx_model` runs the file
with onnxruntime and decodes with the config's codec.
"""

import json
from pathlib import Path
from typing import Optional, Sequence, Union

import torch
from mmengine.config import Config
from torch import Tensor, nn

from .test_time import fit_test_input, test_size_factor

# metadata_props keys of an exported file
META_CONFIG = 'aeplugin.config'
META_DECODER = 'aeplugin.decoder'
META_TEST_CFG = 'aeplugin.test_cfg'
META_FLIP = 'aeplugin.flip_in_graph'
META_INPUT_SIZE = 'aeplugin.input_size'
INPUT_NAME = 'inputs'
OUTPUT_NAMES = ('heatmaps', 'tags')


class ExportedNetwork(nn.Module):
    """A pose estimator's backbone and head ``forward``, optionally run on
    the input and its mirror image as one batch.

    Note:
        - batch size: B
        - keypoint number: K
        - tag dimension: L (of the network)
        - input size: [W, H]; output size: [w, h]

    Args:
        estimator (nn.Module): A bottom-up pose estimator
            (``extract_feat`` and ``head.forward``)
        flip (bool): Also run the mirrored input; the outputs then hold 2B
            maps, those of the mirrored input (unmirrored) last
    """

    def __init__(self, estimator: nn.Module, flip: bool) -> None:
        super().__init__()
        self.estimator = estimator
        self.flip = flip

    def forward(self, inputs: Tensor):
        """Map normalised images (B, 3, H, W) to heatmaps (B', K, h, w) and
        tags (B', L*K, h, w), B' = 2B with ``flip``."""
        if self.flip:
            inputs = torch.cat([inputs, inputs.flip(-1)])
        return self.estimator.head.forward(self.estimator.extract_feat(inputs))


def export_onnx(
    model: nn.Module,
    out_file: Union[str, Path],
    flip: bool = False,
    input_size: Optional[Sequence[int]] = None,
    opset_version: int = 17,
    dynamo: bool = False,
) -> Path:
    """Write ``model``'s network to an ONNX file and check it.

    The file takes ``inputs`` (B, 3, H, W), the images as the model's data
    preprocessor hands them to the backbone (normalised RGB), and returns
    ``heatmaps`` and ``tags`` as :class:`ExportedNetwork`. Its metadata
    holds the config the file runs with (the model's, its test pipeline
    fitted to ``input_size`` when one is given), the decoder and
    ``test_cfg`` as JSON, whether the graph runs the flip and its input
    size.

    Args:
        model (nn.Module): A model from :func:`aeplugin.apis.init_model`
            (with ``cfg``), on the CPU
        out_file (str | Path): The ``.onnx`` file to write
        flip (bool): Export the flip test's two passes as one batch
        input_size (Sequence[int], optional): (W, H) for a graph of that
            input size; ``None`` leaves batch, height and width dynamic
        opset_version (int): ONNX opset. Defaults to 17
        dynamo (bool): Trace with ``torch.export`` (PyTorch's newer
            exporter; a dynamic graph's height and width are then multiples
            of the test resize's ``size_factor``) instead of TorchScript,
            which PyTorch deprecates but which exports in a fraction of the
            time with outputs closer to PyTorch's. Defaults to ``False``

    Returns:
        Path: ``out_file``
    """
    import onnx

    cfg = Config(model.cfg.to_dict())
    if input_size is None:
        # any size the backbone takes: the decoder's input size is one
        dummy_size = tuple(cfg.model.head.decoder['input_size'])
    else:
        fit_test_input(cfg, input_size)
        dummy_size = tuple(int(v) for v in input_size)
    network = ExportedNetwork(model, flip).eval()
    W, H = dummy_size
    dummy = torch.zeros(1, 3, H, W)
    out_file = Path(out_file)
    if dynamo:
        shape = {0: torch.export.Dim('batch')}
        if input_size is None:
            factor = test_size_factor(cfg)
            shape[2] = factor * torch.export.Dim('height_blocks')
            shape[3] = factor * torch.export.Dim('width_blocks')
        options = dict(
            dynamo=True,
            dynamic_shapes={INPUT_NAME: shape},
            # one file, as the TorchScript export writes (up to 2 GB)
            external_data=False,
            verbose=False,
        )
    else:
        axes = {0: 'batch'}
        if input_size is None:
            axes.update({2: 'height', 3: 'width'})
        options = dict(
            dynamo=False,
            dynamic_axes={name: axes for name in (INPUT_NAME, *OUTPUT_NAMES)},
        )
    with torch.no_grad():
        torch.onnx.export(
            network,
            (dummy,),
            str(out_file),
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            opset_version=opset_version,
            **options,
        )

    onnx_model = onnx.load(str(out_file))
    test_cfg = dict(cfg.model.get('test_cfg') or {})
    metadata = {
        META_CONFIG: cfg.pretty_text,
        META_DECODER: json.dumps(cfg.model.head.get('decoder')),
        META_TEST_CFG: json.dumps(test_cfg),
        META_FLIP: json.dumps(bool(flip)),
        META_INPUT_SIZE: json.dumps(
            None if input_size is None else list(dummy_size)
        ),
    }
    onnx.helper.set_model_props(onnx_model, metadata)
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, str(out_file))
    return out_file
