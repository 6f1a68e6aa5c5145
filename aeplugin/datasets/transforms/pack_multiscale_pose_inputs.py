from typing import Optional, Sequence

from mmpose.datasets.transforms import PackPoseInputs
from mmpose.datasets.transforms.formatting import image_to_tensor

from aeplugin.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackMultiScalePoseInputs(PackPoseInputs):
    """Pack an image pyramid as one input tensor per scale.

    mmpose's ``PackPoseInputs`` turns a list of images into one stacked
    tensor, which fails for the differently sized inputs of
    :class:`BottomupMultiScaleResize`; this subclass packs each image on its
    own and always stores ``aug_scales`` in the metainfo (mmpose's
    ``BottomupPoseEstimator`` reads it in multi-scale test). A single image
    is packed as ``PackPoseInputs`` packs it.

    Note:
        - scale number: S

    Args:
        meta_keys (Sequence[str]): Meta keys stored in the
            ``PoseDataSample``'s metainfo; ``aug_scales`` is added if
            missing. ``None`` means those of ``PackPoseInputs``.
            Defaults to ``None``
        pack_transformed (bool): Whether to pack ``transformed_keypoints``.
            Defaults to ``False``
    """

    def __init__(
        self,
        meta_keys: Optional[Sequence[str]] = None,
        pack_transformed: bool = False,
    ):
        if meta_keys is None:
            super().__init__(pack_transformed=pack_transformed)
        else:
            super().__init__(
                meta_keys=meta_keys, pack_transformed=pack_transformed
            )
        if 'aug_scales' not in self.meta_keys:
            self.meta_keys = (*self.meta_keys, 'aug_scales')

    def transform(self, results: dict) -> dict:
        """Pack the sample.

        Args:
            results (dict): The result dict; ``img`` is one image or a list
                of S images (h_s, w_s, C)

        Returns:
            dict: ``inputs`` (a list of S tensors (C, h_s, w_s), or one
            tensor for one image) and ``data_samples``
            (:obj:`PoseDataSample`)
        """
        imgs = results.get('img')
        if not isinstance(imgs, (list, tuple)):
            return super().transform(results)
        if not imgs:
            raise ValueError('results["img"] is an empty list of images')
        packed = super().transform({**results, 'img': imgs[0]})
        packed['inputs'] = [image_to_tensor(img) for img in imgs]
        return packed
