from typing import Sequence

import torch
from mmpose.models.data_preprocessors import PoseDataPreprocessor

from aeplugin.registry import MODELS


@MODELS.register_module()
class MultiScalePoseDataPreprocessor(PoseDataPreprocessor):
    """``PoseDataPreprocessor`` that also takes an image pyramid per sample.

    mmpose's ``BottomupPoseEstimator`` runs multi-scale test on a list of
    batched inputs, one per scale, but mmengine's ``ImgDataPreprocessor``
    accepts only one tensor per sample, so the pyramids packed by
    :class:`PackMultiScalePoseInputs` cannot reach the model through
    ``PoseDataPreprocessor``. Here each scale is normalised and batched as
    ``PoseDataPreprocessor`` does it; single-scale inputs are processed
    exactly as there, so this class can replace it in any config.

    Note:
        - batch size: B
        - scale number: S

    Args:
        The arguments of ``PoseDataPreprocessor``.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise, convert colours and batch the inputs.

        Args:
            data (dict): ``inputs``: B tensors (C, h, w) for one scale, or,
                as ``pseudo_collate`` transposes the samples' pyramids, S
                sequences of B tensors (C, h_s, w_s); ``data_samples``
            training (bool): Whether batch augmentations are applied

        Returns:
            dict: ``inputs`` a tensor (B, C, h, w), or a list of S tensors
            (B, C, h_s, w_s); ``data_samples`` with ``batch_input_shape``
            and ``pad_shape`` of the first scale
        """
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor) or not all(
            isinstance(x, Sequence) for x in inputs
        ):
            return super().forward(data, training)
        batch_sizes = {len(x) for x in inputs}
        if not inputs or len(batch_sizes) != 1 or 0 in batch_sizes:
            raise ValueError(
                'multi-scale inputs must be S > 0 sequences of the same '
                f'number (> 0) of images, got {[len(x) for x in inputs]}'
            )
        batches = []
        # the last call sets the metainfo: the first scale carries it
        for scale_inputs in reversed(inputs):
            out = super().forward(
                dict(data, inputs=list(scale_inputs)), training
            )
            batches.append(out['inputs'])
        out['inputs'] = batches[::-1]
        return out
