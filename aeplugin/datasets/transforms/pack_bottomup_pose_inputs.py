from mmpose.datasets.transforms import PackPoseInputs

from aeplugin.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackBottomupPoseInputs(PackPoseInputs):
    """Pack a bottom-up sample, keeping the AE grouping labels and the mask.

    mmpose's ``PackPoseInputs`` packs only the keys of one mapping table per
    destination: the codec's table when ``GenerateTarget`` passed one, its
    own otherwise. Its own ``label_mapping_table`` lacks ``keypoint_indices``
    (mmpose's ``AssociativeEmbedding`` codec declares no table, so the
    indices the tag loss needs are silently dropped), and a codec's tables
    may not name the ``heatmap_mask`` that :class:`BottomupCrowdMask` adds
    (``BottomupGrouping``'s do). This subclass packs the union of both
    tables, the codec's entries winning, so it keeps every target whatever
    the codec declares.

    Each packed sample holds (N people, K keypoints, [W, H] heatmap size):

        - ``inputs``: image tensor (3, h, w)
        - ``data_samples.gt_fields.heatmaps``: (K, H, W) float32
        - ``data_samples.gt_fields.heatmap_mask``: (1, H, W) float32
        - ``data_samples.gt_instance_labels.keypoint_indices``: (N, K, 2)
          int64, ``[y * W + x, visible]``
        - ``data_samples.gt_instance_labels.keypoint_weights``: (N, K)

    Args:
        meta_keys (Sequence[str], optional): Meta keys stored in the
            ``PoseDataSample``'s metainfo. Defaults to those of
            ``PackPoseInputs`` (the raw annotations among them); the
            configs' training pipelines keep ``('img_path',)`` only, which
            :func:`bottomup_collate` names in its errors and then drops:
            the training step reads no metainfo
        pack_transformed (bool): Whether to pack ``transformed_keypoints``.
            Defaults to ``False``
    """

    label_mapping_table = dict(
        PackPoseInputs.label_mapping_table, keypoint_indices='keypoint_indices'
    )

    def transform(self, results: dict) -> dict:
        """Pack the sample with the merged mapping tables.

        Args:
            results (dict): The result dict from the pipeline

        Returns:
            dict: ``inputs`` (Tensor) and ``data_samples``
            (:obj:`PoseDataSample`)
        """
        for table in (
            'instance_mapping_table',
            'label_mapping_table',
            'field_mapping_table',
        ):
            if table in results:
                results[table] = {**getattr(self, table), **results[table]}
        return super().transform(results)
