from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmpose.models.backbones.resnet import BasicBlock
from mmpose.models.heads import HeatmapHead
from mmpose.utils.typing import (
    ConfigType,
    Features,
    OptConfigType,
    OptSampleList,
)
from torch import Tensor, nn

from aeplugin.registry import MODELS

from ..utils import upsample_maps_2x
from .ae_head import AssociativeEmbeddingHead


@MODELS.register_module()
class HigherAssociativeEmbeddingHead(AssociativeEmbeddingHead):
    """HigherHRNet's head (`HigherHRNet`_, Cheng et al., 2020): heatmaps
    and tags at the backbone's resolution, heatmaps again at twice it.

    From the last backbone feature x (B, C, H, W), 1/4 of the input for
    HRNet:

    - ``final_layer`` (1x1 conv, as :class:`AssociativeEmbeddingHead`'s):
      y = K heatmaps + L*K tags (B, K*(1+L), H, W)
    - ``higher_deconv_layers``: concat(x, y), 4x4 transposed conv of stride
      2, BN, ReLU, then ``num_basic_blocks`` basic blocks (B, C2, 2H, 2W)
    - ``higher_final_layer`` (1x1 conv): K heatmaps (B, K, 2H, 2W), no tags
      (the official ``WITH_AE_LOSS: [True, False]``)

    :meth:`loss` supervises the heatmaps at both resolutions (each masked by
    its own crowd mask, each with its weight in ``heatmap_loss_weights``)
    and the tags at the lower one. :meth:`forward`, what the test and the
    ONNX export run, returns the paper's aggregation at 2H x 2W: the mean of
    the upsampled lower heatmaps and the higher ones, and the upsampled
    tags (:func:`upsample_maps_2x`, the codec's pixel convention), so flip
    and multi-scale test, resizing, refinement and decoding are
    :class:`AssociativeEmbeddingHead`'s :meth:`predict_outputs`, unchanged.
    The aggregation of a flipped pass runs on its own (mirrored) grid,
    where both resolutions follow the codec's convention, before
    ``predict_outputs`` mirrors it back.

    Note:
        - batch size: B
        - keypoint number: K
        - embedding tag dimension: L
        - backbone feature size: [W, H]; higher size: [2W, 2H]

    Args:
        in_channels (int): Channels C of the last backbone feature
        num_keypoints (int): K
        tag_dim (int): L. Defaults to 1
        tag_per_keypoint (bool): One tag map per keypoint type (K*L
            channels) or one shared (L). Defaults to ``True``
        higher_channels (int, optional): Channels C2 of the deconvolution
            stage; ``None`` means ``in_channels`` (the official
            ``DECONV.NUM_CHANNELS``). Defaults to ``None``
        num_basic_blocks (int): Basic blocks after the transposed conv.
            Defaults to 4
        heatmap_loss_weights (Sequence[float]): Heatmap loss weights of the
            lower and the higher resolution. Defaults to ``(1.0, 1.0)``
        keypoint_loss (dict): Heatmap loss, called at each resolution as
            ``loss(pred (B,K,h,w), gt (B,K,h,w), None, mask (B,1,h,w))``.
            Defaults to mmpose's ``KeypointMSELoss``
        tag_loss (dict): Grouping loss of the lower resolution's tags.
            Defaults to ``AELoss`` with ``loss_weight=1e-3``
        decoder (dict, optional): Codec used by ``predict()``, decoding
            maps of the higher resolution (``HigherBottomupGrouping``)
        init_cfg (dict, optional): Initialization config
        missing_mask (str): What :meth:`loss` does with a batch without a
            crowd mask at some resolution, as
            :class:`AssociativeEmbeddingHead`'s. Defaults to ``'warn'``

    .. _`HigherHRNet`: https://arxiv.org/abs/1908.10357
    """

    # Each supervised resolution, lowest first
    # (PackHigherBottomupPoseInputs packs the 1/2 maps in gt_fields_2x)
    target_fields = (('gt_fields', ''), ('gt_fields_2x', '_2x'))
    target_hint = (
        'encode targets with HigherBottomupGrouping and pack them with '
        'PackHigherBottomupPoseInputs'
    )

    def __init__(
        self,
        in_channels: int,
        num_keypoints: int,
        tag_dim: int = 1,
        tag_per_keypoint: bool = True,
        higher_channels: Optional[int] = None,
        num_basic_blocks: int = 4,
        heatmap_loss_weights: Sequence[float] = (1.0, 1.0),
        keypoint_loss: ConfigType = dict(type='KeypointMSELoss'),
        tag_loss: ConfigType = dict(type='AELoss', loss_weight=1e-3),
        decoder: OptConfigType = None,
        init_cfg: OptConfigType = None,
        missing_mask: str = 'warn',
    ):
        if not isinstance(in_channels, int):
            raise TypeError(
                'HigherAssociativeEmbeddingHead takes one feature: '
                f'in_channels must be an int, got {in_channels!r}'
            )
        heatmap_loss_weights = [float(w) for w in heatmap_loss_weights]
        if len(heatmap_loss_weights) != len(self.target_fields):
            raise ValueError(
                'heatmap_loss_weights needs one weight per resolution '
                f'(lower, higher), got {heatmap_loss_weights}'
            )
        if decoder is not None and decoder.get('use_udp', False):
            raise ValueError(
                "the HigherHRNet head's aggregation upsamples in the non-UDP "
                'pixel convention: its decoder must have use_udp=False'
            )
        super().__init__(
            in_channels=in_channels,
            num_keypoints=num_keypoints,
            tag_dim=tag_dim,
            tag_per_keypoint=tag_per_keypoint,
            final_layer=dict(kernel_size=1),
            keypoint_loss=keypoint_loss,
            tag_loss=tag_loss,
            decoder=decoder,
            init_cfg=init_cfg,
            missing_mask=missing_mask,
        )
        higher_channels = higher_channels or in_channels
        self.heatmap_loss_weights = heatmap_loss_weights
        self.higher_deconv_layers = nn.Sequential(
            nn.ConvTranspose2d(
                in_channels + self.out_channels,
                higher_channels,
                kernel_size=4,
                stride=2,
                padding=1,
                bias=False,
            ),
            nn.BatchNorm2d(higher_channels),
            nn.ReLU(inplace=True),
            *[
                BasicBlock(higher_channels, higher_channels)
                for _ in range(num_basic_blocks)
            ],
        )
        self.higher_final_layer = nn.Conv2d(
            higher_channels, num_keypoints, kernel_size=1
        )

    def forward_resolutions(self, feats: Features) -> Tuple[Tensor, ...]:
        """The supervised outputs of both resolutions.

        Args:
            feats (Sequence[Tensor]): Backbone outputs, the last (B, C, H, W)
                used

        Returns:
            tuple: heatmaps (B, K, H, W), tags (B, L*K, H, W) and the
            higher heatmaps (B, K, 2H, 2W)
        """
        x = feats[-1]
        # HeatmapHead's forward: final_layer on the last feature
        y = HeatmapHead.forward(self, feats)
        heatmaps, tags = self._split(y)
        higher = self.higher_deconv_layers(torch.cat([x, y], dim=1))
        return heatmaps, tags, self.higher_final_layer(higher)

    def forward(self, feats: Features) -> Tuple[Tensor, Tensor]:
        """The aggregated maps at the higher resolution.

        Returns:
            tuple: heatmaps (B, K, 2H, 2W), the mean of the upsampled lower
            heatmaps and the higher ones, and tags (B, L*K, 2H, 2W), the
            upsampled lower tags
        """
        heatmaps, tags, heatmaps_2x = self.forward_resolutions(feats)
        heatmaps = (upsample_maps_2x(heatmaps) + heatmaps_2x) / 2
        return heatmaps, upsample_maps_2x(tags)

    def forward_stacks(self, feats: Features) -> List[Tuple[Tensor, Tensor]]:
        """The one output with tags, ``[(heatmaps (B,K,H,W), tags
        (B,L*K,H,W))]``; :meth:`forward_resolutions` adds the higher
        heatmaps."""
        return [self.forward_resolutions(feats)[:2]]

    def loss(
        self,
        feats: Features,
        batch_data_samples: Union[OptSampleList, dict],
        train_cfg: ConfigType = {},
    ) -> dict:
        """Heatmap losses at both resolutions, tag losses at the lower one.

        ``batch_data_samples`` is a list of data samples, each with
        ``gt_fields.heatmaps`` (K, H, W), ``gt_fields_2x.heatmaps``
        (K, 2H, 2W), the masks ``heatmap_mask`` of both ((1,) h, w; 0 where
        the loss is ignored) and ``gt_instance_labels.keypoint_indices``
        (N, K, 2) of the lower resolution, converted once to the batch
        tensors of ``bottomup_collate``; or those tensors (``heatmaps``,
        ``heatmap_mask``, ``heatmaps_2x``, ``heatmap_mask_2x``,
        ``keypoint_indices``), used as they are.

        Returns:
            dict: ``loss_kpt`` and ``loss_kpt_2x`` (each times its weight in
            ``heatmap_loss_weights``), ``loss_pull`` and ``loss_push``
            (scalars)
        """
        heatmaps, tags, heatmaps_2x = self.forward_resolutions(feats)
        batch, missing = self._target_batch(
            batch_data_samples, heatmaps.device
        )
        losses = {}
        for (_, suffix), pred, weight in zip(
            self.target_fields,
            (heatmaps, heatmaps_2x),
            self.heatmap_loss_weights,
        ):
            gt, mask = self._resolution_targets(batch, missing, suffix, pred)
            losses['loss_kpt' + suffix] = (
                weight * self.loss_module.keypoint_loss(pred, gt, None, mask)
            )
        pull, push = self.loss_module.tag_loss(tags, batch['keypoint_indices'])
        losses.update(loss_pull=pull, loss_push=push)
        return losses
