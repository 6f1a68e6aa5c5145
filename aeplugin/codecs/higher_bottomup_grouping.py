"""Associative Embedding codec for HigherHRNet's two output resolutions."""

from typing import List, Optional, Tuple

import numpy as np

from aeplugin.registry import KEYPOINT_CODECS

from .bottomup_grouping import BottomupGrouping
from .utils import encode_keypoint_indices, generate_gaussian_heatmaps
from .utils.checks import check_encode_inputs, check_size


@KEYPOINT_CODECS.register_module()
class HigherBottomupGrouping(BottomupGrouping):
    """HigherHRNet's targets (`HigherHRNet`_, Cheng et al., 2020): Gaussian
    heatmaps at the tag resolution and at twice it, tag indices at the tag
    resolution; decoding as :class:`BottomupGrouping`, of the maps the head
    returns at the higher resolution.

    Note:

        - instance number: N (per image)
        - keypoint number: K
        - embedding tag dimension: L
        - batch size: B
        - image size: [w, h]
        - heatmap size: [W, H] (1/4 of the input for HRNet)
        - higher heatmap size: [W2, H2] (1/2 of the input)

    Both heatmaps place input pixel ``x`` at heatmap pixel ``x / t`` (t the
    stride of each), so pixel ``i`` of the higher map lies at pixel ``i * W
    / W2`` of the other: what the head's aggregation
    (:class:`HigherAssociativeEmbeddingHead`) relies on when it upsamples
    the 1/4 maps onto the 1/2 grid. UDP targets place the two grids
    differently, and the codec refuses them.

    Encoded (:meth:`encode` of keypoints (N, K, 2) in the image space and
    their visibilities (N, K)):

        - heatmaps (np.ndarray): Gaussian heatmaps in shape (K, H, W)
        - heatmaps_2x (np.ndarray): Gaussian heatmaps in shape (K, H2, W2),
            the same sigma in their own pixels (the official code's
            ``SIGMA: 2`` at both sizes)
        - keypoint_indices (np.ndarray): Position indices ``[y*W+x, v]`` of
            the tag resolution in shape (N, K, 2), as
            :class:`BottomupGrouping`'s
        - keypoint_weights (np.ndarray): The target weights in shape (N, K)

    :class:`BottomupCrowdMask` with ``heatmap_keys=('heatmaps',
    'heatmaps_2x')`` adds ``heatmap_mask`` (1, H, W) and
    ``heatmap_mask_2x`` (1, H2, W2). A ``PixelData`` holds maps of one size
    only, so the 1/4 maps go to ``gt_fields`` (the field table below, as
    :class:`BottomupGrouping`'s) and the 1/2 maps to ``gt_fields_2x``
    (:attr:`higher_field_mapping_table`, packed by
    :class:`PackHigherBottomupPoseInputs`).

    Decoded (:meth:`batch_decode` of heatmaps (B, K, H2, W2) and tags
    (B, K*L, H2, W2)): as :class:`BottomupGrouping`, with coordinates scaled
    by ``input_size / higher_heatmap_size``. A decoder of maps resized to
    the input (``restore_heatmap_size``) sets ``higher_heatmap_size`` to
    the input size.

    Args:
        input_size (tuple): Image size in [w, h]
        heatmap_size (tuple): Size of the tag maps and the first heatmaps in
            [W, H]
        higher_heatmap_size (tuple, optional): Size of the higher-resolution
            heatmaps in [W2, H2], the size of the maps decoded. ``None``
            means twice ``heatmap_size``. Defaults to ``None``
        sigma (float, optional): The Gaussian sigma at each size, in its own
            pixels. ``None`` means :math:`\\sqrt{W H} / 64` (of the first
            size). Defaults to ``None``
        use_udp (bool): Must be ``False`` (see above)
        **kwargs: The decoding options of :class:`BottomupGrouping`

    .. _`HigherHRNet`: https://arxiv.org/abs/1908.10357
    """

    # the 1/4 maps as BottomupGrouping's tables pack them; the 1/2 maps'
    # result keys and their names in the data sample's gt_fields_2x
    higher_field_mapping_table = dict(
        heatmaps_2x='heatmaps', heatmap_mask_2x='heatmap_mask'
    )

    def __init__(
        self,
        input_size: Tuple[int, int],
        heatmap_size: Tuple[int, int],
        higher_heatmap_size: Optional[Tuple[int, int]] = None,
        sigma: Optional[float] = None,
        use_udp: bool = False,
        **kwargs,
    ) -> None:
        if use_udp:
            raise ValueError(
                'HigherBottomupGrouping takes use_udp=False only: the '
                "HigherHRNet head's aggregation upsamples the 1/4 maps with "
                'pixel i at input pixel i * stride, the non-UDP grid'
            )
        super().__init__(input_size, heatmap_size, sigma=sigma, **kwargs)
        if higher_heatmap_size is None:
            higher_heatmap_size = tuple(2 * v for v in self.heatmap_size)
        self.higher_heatmap_size = check_size(
            'higher_heatmap_size', higher_heatmap_size
        )
        input_wh = np.array(self.input_size)
        # encode() scales keypoints to each heatmap; decoding reads the
        # higher-resolution maps, so the inherited decode scales by those
        self.encode_scale_factors = [
            (input_wh / np.array(size)).astype(np.float32)
            for size in (self.heatmap_size, self.higher_heatmap_size)
        ]
        self.scale_factor = self.encode_scale_factors[1]

    @property
    def encoded_sizes(self) -> List[Tuple[int, int]]:
        """The ``[W, H]`` of ``heatmaps`` and of ``heatmaps_2x``."""
        return [self.heatmap_size, self.higher_heatmap_size]

    def encode(
        self,
        keypoints: np.ndarray,
        keypoints_visible: Optional[np.ndarray] = None,
    ) -> dict:
        """Encode keypoints into heatmaps at both sizes and tag indices.

        Note:

            - instance number: N
            - keypoint number: K
            - heatmap size: [W, H]; higher heatmap size: [W2, H2]

        Args:
            keypoints (np.ndarray): Keypoint coordinates in the input image
                space in shape (N, K, 2)
            keypoints_visible (np.ndarray, optional): Keypoint visibilities in
                shape (N, K); ``None`` means all visible

        Returns:
            dict:
            - heatmaps (np.ndarray): (K, H, W), float32
            - heatmaps_2x (np.ndarray): (K, H2, W2), float32
            - keypoint_indices (np.ndarray): ``[y*W+x, v]`` in shape
                (N, K, 2), int64
            - keypoint_weights (np.ndarray): (N, K), float32, of the tag
                resolution
        """
        keypoints, keypoints_visible = check_encode_inputs(
            keypoints, keypoints_visible
        )
        encoded = {}
        for key, size, factor in zip(
            ('heatmaps', 'heatmaps_2x'),
            self.encoded_sizes,
            self.encode_scale_factors,
        ):
            encoded[key], weights = generate_gaussian_heatmaps(
                size, keypoints / factor, keypoints_visible, self.sigma
            )
            if key == 'heatmaps':
                encoded['keypoint_weights'] = weights
        encoded['keypoint_indices'] = encode_keypoint_indices(
            self.heatmap_size,
            keypoints / self.encode_scale_factors[0],
            keypoints_visible,
        )
        return encoded
