from typing import Dict

import torch
from torch import Tensor

from aeplugin.registry import MODELS

from .multiscale_pose_data_preprocessor import MultiScalePoseDataPreprocessor


@MODELS.register_module()
class BottomupDataPreprocessor(MultiScalePoseDataPreprocessor):
    """The data preprocessor of bottom-up AE: batched targets, channels-last
    inputs on the GPU.

    In training with :func:`bottomup_collate`, ``data_samples`` is a dict of
    batch tensors (whatever target maps it holds); each is moved to the
    device with one non-blocking copy (pinned by the data loader) instead of
    one blocking copy per field of every sample, and passed on as it is to
    the head. The dict holds tensors only: anything else is an error, as a
    per-sample structure there would be walked every step. Lists of
    ``PoseDataSample`` (evaluation, or mmengine's ``pseudo_collate``) are
    processed as by :class:`MultiScalePoseDataPreprocessor`.

    On a CUDA device the inputs leave in ``torch.channels_last`` memory
    format, which a channels-last model (:class:`ChannelsLastHook`) reads
    without cuDNN's layout conversions; elsewhere they stay contiguous.

    Note:
        - batch size: B
        - input size: [w, h]

    Args:
        channels_last (bool): Whether CUDA inputs are channels-last.
            Defaults to ``True``
        non_blocking (bool): Whether copies to the device are
            non-blocking. Defaults to ``True``
        **kwargs: The other arguments of ``PoseDataPreprocessor``
    """

    def __init__(
        self, channels_last: bool = True, non_blocking: bool = True, **kwargs
    ):
        super().__init__(non_blocking=non_blocking, **kwargs)
        self.channels_last = channels_last

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise and batch the inputs, move the targets.

        Args:
            data (dict): ``inputs`` (B, 3, h, w) or B tensors (3, h_i, w_i)
                (or a multi-scale pyramid) and ``data_samples``: a list of
                ``PoseDataSample`` or the dict of :func:`bottomup_collate`
            training (bool): Whether batch augmentations are applied

        Returns:
            dict: ``inputs`` (B, 3, h, w) (a list of them for a pyramid)
            and ``data_samples`` on the device
        """
        samples = data.get('data_samples')
        if isinstance(samples, dict):
            # no per-sample metainfo to set: the targets are the samples
            out = super().forward(dict(data, data_samples=[]), training)
            out['data_samples'] = self.move_targets(samples)
        else:
            out = super().forward(data, training)
        inputs = out['inputs']
        if self.channels_last and isinstance(inputs, torch.Tensor):
            if inputs.is_cuda:
                out['inputs'] = inputs.contiguous(
                    memory_format=torch.channels_last
                )
        return out

    def move_targets(self, targets: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Move batched targets to the device, one non-blocking copy each.

        Note:
            - batch size: B
            - instance number: N
            - keypoint number: K
            - heatmap size: [W, H]

        Args:
            targets (dict): Tensors by name, e.g. ``heatmaps`` (B, K, H, W),
                ``heatmap_mask`` (B, 1, H, W) and ``keypoint_indices``
                (B, N, K, 2) of :func:`bottomup_collate`

        Returns:
            dict: The same names, the tensors on the device
        """
        moved = {}
        for name, value in targets.items():
            if not isinstance(value, Tensor):
                raise TypeError(
                    f'batched targets hold tensors only, but {name!r} is a '
                    f'{type(value).__name__}: batch the samples with '
                    'bottomup_collate, or pass a list of PoseDataSample'
                )
            moved[name] = value.to(
                self.device, non_blocking=self._non_blocking
            )
        return moved
