from mmengine.structures import PixelData

from aeplugin.codecs import HigherBottomupGrouping
from aeplugin.registry import TRANSFORMS

from .pack_bottomup_pose_inputs import PackBottomupPoseInputs


@TRANSFORMS.register_module()
class PackHigherBottomupPoseInputs(PackBottomupPoseInputs):
    """Pack a HigherHRNet sample: :class:`PackBottomupPoseInputs`, plus the
    higher-resolution targets in ``data_samples.gt_fields_2x``.

    A ``PixelData`` holds maps of one size, so the maps at twice the tag
    resolution cannot join ``gt_fields``: they get a ``PixelData`` of their
    own, named by :class:`HigherBottomupGrouping`'s
    ``higher_field_mapping_table``.

    Each packed sample holds, beside :class:`PackBottomupPoseInputs`'s
    (K keypoints, [W2, H2] the higher heatmap size):

        - ``data_samples.gt_fields_2x.heatmaps``: (K, H2, W2) float32, from
          ``heatmaps_2x``
        - ``data_samples.gt_fields_2x.heatmap_mask``: (1, H2, W2) float32,
          from ``heatmap_mask_2x`` (when :class:`BottomupCrowdMask` wrote
          it)

    Args:
        meta_keys (Sequence[str], optional): As :class:`PackPoseInputs`'
        pack_transformed (bool): As :class:`PackPoseInputs`'
    """

    higher_field_mapping_table = (
        HigherBottomupGrouping.higher_field_mapping_table
    )

    def transform(self, results: dict) -> dict:
        """Pack the sample and its higher-resolution maps.

        Args:
            results (dict): The result dict from the pipeline

        Returns:
            dict: ``inputs`` (Tensor) and ``data_samples``
            (:obj:`PoseDataSample`, with ``gt_fields_2x``)
        """
        higher = {
            packed: results[key]
            for key, packed in self.higher_field_mapping_table.items()
            if key in results
        }
        if 'heatmaps' not in higher:
            raise ValueError(
                'PackHigherBottomupPoseInputs found no `heatmaps_2x`: '
                'encode the targets with HigherBottomupGrouping in '
                'GenerateTarget'
            )
        packed = super().transform(results)
        packed['data_samples'].gt_fields_2x = PixelData(**higher).to_tensor()
        return packed
