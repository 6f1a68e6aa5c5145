"""Run an exported AE network with onnxruntime and group its people with
the config's decoder."""

import json
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpose.apis.inference import dataset_meta_from_config
from mmpose.models.pose_estimators import BottomupPoseEstimator
from mmpose.structures import PoseDataSample
from torch import Tensor

from aeplugin.registry import MODELS

from .inference import check_keypoint_count
from .onnx_export import (
    INPUT_NAME,
    META_CONFIG,
    META_FLIP,
    META_INPUT_SIZE,
    OUTPUT_NAMES,
)
from .test_time import fit_test_input


class OnnxBottomupEstimator:
    """A bottom-up pose estimator whose network runs in onnxruntime.

    It has what :func:`aeplugin.apis.inference_bottomup` uses of a model
    (``cfg``, ``dataset_meta``, ``test_cfg``, ``head.decoder``,
    ``test_step``): the config's data preprocessor prepares the inputs,
    the session computes the maps, and the config's head decodes them with
    :meth:`AssociativeEmbeddingHead.predict_outputs`, so pre- and
    post-processing are those of the PyTorch model. Flip test runs the
    mirrored input in the same call when the graph was exported with
    ``flip``, else in a second call; multi-scale test needs a graph of
    dynamic size.

    Args:
        session (onnxruntime.InferenceSession): The exported network
        cfg (Config): The config to test with
        flip_in_graph (bool): Whether the graph runs the mirrored input
        input_size (Sequence[int], optional): The graph's fixed (W, H), or
            ``None`` for a dynamic one
    """

    def __init__(
        self,
        session,
        cfg: Config,
        flip_in_graph: bool,
        input_size: Optional[Sequence[int]],
    ) -> None:
        if input_size is not None:
            fit_test_input(cfg, input_size)
        self.session = session
        self.cfg = cfg
        self.flip_in_graph = flip_in_graph
        self.input_size = input_size
        self.test_cfg = dict(cfg.model.get('test_cfg') or {})
        with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'aeplugin')
        ):
            self.data_preprocessor = MODELS.build(cfg.model.data_preprocessor)
            self.head = MODELS.build(cfg.model.head)
        self.dataset_meta = dataset_meta_from_config(cfg, 'train')
        self._check_outputs()
        check_keypoint_count(
            self, self.dataset_meta, cfg.filename or 'the config'
        )

    def _check_outputs(self) -> None:
        names = [o.name for o in self.session.get_outputs()]
        if names != list(OUTPUT_NAMES):
            raise ValueError(
                f'the ONNX graph returns {names}, expected {OUTPUT_NAMES}: '
                'export it with tools/deployment/export_onnx.py'
            )
        K = self.session.get_outputs()[0].shape[1]
        if K != self.head.num_keypoints:
            raise ValueError(
                f'the ONNX graph predicts {K} keypoints, the config '
                f'{self.head.num_keypoints}: it was exported from the '
                'config of another dataset'
            )

    def _run(self, inputs: Tensor) -> List[tuple]:
        """The (heatmaps, tags) pairs of one input batch (B, 3, H, W): the
        original pass, and with flip test the mirrored one."""
        if self.input_size is not None and tuple(inputs.shape[-1:-3:-1]) != (
            tuple(self.input_size)
        ):
            raise ValueError(
                f'the ONNX graph takes {tuple(self.input_size)} (W, H) '
                f'inputs, got {tuple(inputs.shape[-1:-3:-1])}'
            )
        flip_test = self.test_cfg.get('flip_test', False)

        def run(x: Tensor) -> tuple:
            feed = {INPUT_NAME: x.detach().cpu().float().numpy()}
            return tuple(
                torch.from_numpy(np.ascontiguousarray(out))
                for out in self.session.run(list(OUTPUT_NAMES), feed)
            )

        if self.flip_in_graph:
            heatmaps, tags = run(inputs)
            B = inputs.shape[0]
            passes = [(heatmaps[:B], tags[:B]), (heatmaps[B:], tags[B:])]
            return passes if flip_test else passes[:1]
        if flip_test:
            return [run(inputs), run(inputs.flip(-1))]
        return [run(inputs)]

    def test_step(self, data: dict) -> List[PoseDataSample]:
        """Predict the people of a collated batch, as a model's
        ``test_step`` does."""
        data = self.data_preprocessor(data, False)
        return self.predict(data['inputs'], data['data_samples'])

    def predict(
        self,
        inputs: Union[Tensor, List[Tensor]],
        data_samples: List[PoseDataSample],
    ) -> List[PoseDataSample]:
        """Predict with the test-time options of ``test_cfg``.

        Args:
            inputs (Tensor | List[Tensor]): (B, 3, H, W), or in multi-scale
                test one such tensor per scale, scale 1 first
            data_samples (List[PoseDataSample]): The batch data samples

        Returns:
            List[PoseDataSample]: the samples with ``pred_instances`` (and
            ``pred_fields`` with ``test_cfg.output_heatmaps``) in image
            pixels
        """
        flip_test = self.test_cfg.get('flip_test', False)
        multiscale_test = self.test_cfg.get('multiscale_test', False)
        if multiscale_test and self.input_size is not None:
            raise ValueError(
                'multiscale_test runs several input sizes: export the graph '
                'with --dynamic'
            )
        per_scale = [
            passes if flip_test else passes[0]
            for passes in map(
                self._run, inputs if multiscale_test else [inputs]
            )
        ]
        preds = self.head.predict_outputs(
            per_scale if multiscale_test else per_scale[0],
            data_samples,
            self.test_cfg,
        )
        instances, fields = preds if isinstance(preds, tuple) else (preds, [])
        # mmpose's input-to-image mapping reads only its arguments
        return BottomupPoseEstimator.add_pred_to_datasample(
            self, instances, fields, data_samples
        )


def init_onnx_model(
    onnx_file: Union[str, Path],
    config: Optional[Union[str, Path, Config]] = None,
    providers: Optional[Sequence[str]] = None,
) -> OnnxBottomupEstimator:
    """Load a file of ``tools/deployment/export_onnx.py`` into an
    onnxruntime session, for :func:`aeplugin.apis.inference_bottomup`.

    Args:
        onnx_file (str | Path): The exported ``.onnx`` file
        config (str | Path | Config, optional): The config to test with,
            e.g. with other test-time options
            (:func:`aeplugin.apis.apply_test_time_options`); ``None`` takes
            the one stored in the file. A graph of fixed size fits every
            image into that size whatever the config's resize mode
        providers (Sequence[str], optional): onnxruntime execution
            providers. Defaults to ``['CPUExecutionProvider']``

    Returns:
        OnnxBottomupEstimator: The model
    """
    import onnxruntime

    onnx_file = Path(onnx_file)
    if not onnx_file.is_file():
        raise FileNotFoundError(f'no ONNX file {onnx_file}')
    session = onnxruntime.InferenceSession(
        str(onnx_file), providers=list(providers or ['CPUExecutionProvider'])
    )
    metadata = session.get_modelmeta().custom_metadata_map
    missing = [
        key
        for key in (META_CONFIG, META_FLIP, META_INPUT_SIZE)
        if key not in metadata
    ]
    if missing:
        raise ValueError(
            f'{onnx_file} lacks the metadata {missing}: export it with '
            'tools/deployment/export_onnx.py'
        )
    if config is None:
        config = Config.fromstring(metadata[META_CONFIG], '.py')
    elif isinstance(config, (str, Path)):
        config = Config.fromfile(config)
    else:
        config = Config(config.to_dict())
    input_size = json.loads(metadata[META_INPUT_SIZE])
    return OnnxBottomupEstimator(
        session, config, json.loads(metadata[META_FLIP]), input_size
    )
