from typing import List, Optional, Union

from mmpose.models.pose_estimators import BottomupPoseEstimator
from mmpose.utils.typing import ForwardResults, OptSampleList, SampleList
from torch import Tensor

from aeplugin.registry import MODELS


@MODELS.register_module()
class MultiScaleBottomupPoseEstimator(BottomupPoseEstimator):
    """mmpose's ``BottomupPoseEstimator`` whose multi-scale test runs.

    mmpose's estimator implements multi-scale test in ``predict`` (one
    input tensor per scale, flip at each, all passed to the head), but its
    ``forward`` stacks a list of inputs into one tensor before calling
    ``predict``, so a pyramid of differently sized inputs never gets there.
    This subclass passes the list through in multi-scale test and checks
    the inputs against the samples' ``aug_scales`` with clear errors;
    everything else is mmpose's. Inputs come from
    :class:`BottomupMultiScaleResize`, :class:`PackMultiScalePoseInputs` and
    :class:`MultiScalePoseDataPreprocessor`
    (:func:`aeplugin.apis.apply_test_time_options` sets all of them).

    Note:
        - batch size: B
        - scale number: S

    Args:
        The arguments of ``BottomupPoseEstimator``; ``test_cfg`` may set
        ``multiscale_test=True``.
    """

    def forward(
        self,
        inputs: Union[Tensor, List[Tensor]],
        data_samples: OptSampleList = None,
        mode: str = 'tensor',
    ) -> ForwardResults:
        """As mmpose's, but a list of S inputs (B, C, h_s, w_s) reaches
        ``predict`` as it is in multi-scale test."""
        if mode == 'predict' and self.test_cfg.get('multiscale_test', False):
            if self.metainfo is not None:
                for data_sample in data_samples:
                    data_sample.set_metainfo(self.metainfo)
            return self.predict(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    def predict(
        self, inputs: Union[Tensor, List[Tensor]], data_samples: SampleList
    ) -> SampleList:
        """Predict with the test-time options of ``test_cfg``.

        Args:
            inputs (Tensor | List[Tensor]): (B, C, h, w), or in multi-scale
                test S tensors (B, C, h_s, w_s), scale 1 first, then the
                samples' ``aug_scales`` in order
            data_samples (List[PoseDataSample]): The batch data samples

        Returns:
            List[PoseDataSample]: the samples with ``pred_instances`` (and
            ``pred_fields`` with ``test_cfg.output_heatmaps``)
        """
        if self.test_cfg.get('multiscale_test', False):
            self._check_pyramid(inputs, data_samples)
        return super().predict(inputs, data_samples)

    @staticmethod
    def _check_pyramid(
        inputs: Optional[List[Tensor]], data_samples: SampleList
    ) -> None:
        aug_scales = data_samples[0].metainfo.get('aug_scales', None)
        if not isinstance(aug_scales, list):
            raise ValueError(
                "multiscale_test needs the samples' metainfo aug_scales (a "
                f'list), got {aug_scales!r}: resize with '
                'BottomupMultiScaleResize and pack with '
                'PackMultiScalePoseInputs'
            )
        if not isinstance(inputs, list) or not all(
            isinstance(x, Tensor) for x in inputs
        ):
            raise ValueError(
                'multiscale_test needs a list of input tensors, one per '
                f'scale, got {type(inputs).__name__}: use '
                'MultiScalePoseDataPreprocessor'
            )
        if len(inputs) != len(aug_scales) + 1:
            raise ValueError(
                f'{len(inputs)} inputs for the scales 1.0 and {aug_scales}'
            )
