from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData, PixelData
from mmpose.models.heads import HeatmapHead
from mmpose.utils.typing import (
    ConfigType,
    Features,
    OptConfigType,
    OptSampleList,
    Predictions,
)
from torch import Tensor

from aeplugin.registry import MODELS

OptIntSeq = Optional[Sequence[int]]


@MODELS.register_module()
class AssociativeEmbeddingHead(HeatmapHead):
    """Detection heatmaps and embedding tags for Associative Embedding.

    Shadows mmpose's head of the same name in the ``aeplugin`` scope
    (``type='mmpose.AssociativeEmbeddingHead'`` still reaches theirs).
    Differences that make it train and test as the paper does:

    - With no layers of its own (``final_layer=None`` and no conv/deconv),
      every input feature is one stack's prediction (e.g. HourglassAE's
      per-stack maps) and all stacks are supervised; with layers, it maps the
      last feature of any backbone (HRNet, ResNet) to one prediction.
    - ``loss()`` takes per-image keypoint indices of any length (0 people
      included) and an optional ignore mask; no instance-level weights are
      fed to the heatmap loss (mmpose passes (sum N, K) weights to a loss
      that expects (B, K)).
    - ``predict()`` concatenates the tags of every flip and scale (mmpose
      keeps only the original scale's) and resizes to the input size with or
      without flip test.

    Note:
        - batch size: B
        - keypoint number: K
        - embedding tag dimension: L (per scale and flip)
        - output size: [W, H]

    Args:
        in_channels (int | Sequence[int]): Channels of the input feature(s)
        num_keypoints (int): K
        tag_dim (int): L. Defaults to 1
        tag_per_keypoint (bool): One tag map per keypoint type (K*L
            channels) or one shared (L channels). Defaults to ``True``
        deconv_out_channels (Sequence[int], optional): Deconv layers applied
            to the last feature. Defaults to ``None``
        deconv_kernel_sizes (Sequence[int], optional): Their kernel sizes
        conv_out_channels (Sequence[int], optional): Conv layers after them
        conv_kernel_sizes (Sequence[int], optional): Their kernel sizes
        final_layer (dict, optional): The final conv's arguments; ``None``
            for no layers at all (inputs are already predictions). Defaults
            to ``dict(kernel_size=1)``
        stack_loss_weights (Sequence[float], optional): Loss weight of each
            supervised output, first stack first. Defaults to 1 for each
        keypoint_loss (dict): Heatmap loss, called as
            ``loss(pred (B,K,H,W), gt (B,K,H,W), None, mask (B,1,H,W))``.
            Defaults to mmpose's ``KeypointMSELoss``
        tag_loss (dict): Grouping loss, called as
            ``loss(tags (B,L*K,H,W), keypoint_indices) -> (pull, push)``.
            Defaults to ``AELoss`` with ``loss_weight=1e-3`` (paper)
        decoder (dict, optional): Codec used by ``predict()``
        init_cfg (dict, optional): Initialization config
    """

    def __init__(
        self,
        in_channels: Union[int, Sequence[int]],
        num_keypoints: int,
        tag_dim: int = 1,
        tag_per_keypoint: bool = True,
        deconv_out_channels: OptIntSeq = None,
        deconv_kernel_sizes: OptIntSeq = None,
        conv_out_channels: OptIntSeq = None,
        conv_kernel_sizes: OptIntSeq = None,
        final_layer: Optional[dict] = dict(kernel_size=1),
        stack_loss_weights: Optional[Sequence[float]] = None,
        keypoint_loss: ConfigType = dict(type='KeypointMSELoss'),
        tag_loss: ConfigType = dict(type='AELoss', loss_weight=1e-3),
        decoder: OptConfigType = None,
        init_cfg: OptConfigType = None,
    ):
        out_channels = (
            num_keypoints * (1 + tag_dim)
            if tag_per_keypoint
            else num_keypoints + tag_dim
        )
        has_layers = bool(
            deconv_out_channels or conv_out_channels or final_layer is not None
        )
        if not has_layers and in_channels != out_channels:
            raise ValueError(
                'A head without layers takes predictions: in_channels must '
                f'be K*(1+L)={out_channels} (or K+L with tag_per_keypoint='
                f'False), got {in_channels}'
            )
        super().__init__(
            in_channels=in_channels,
            out_channels=out_channels,
            deconv_out_channels=deconv_out_channels,
            deconv_kernel_sizes=deconv_kernel_sizes,
            conv_out_channels=conv_out_channels,
            conv_kernel_sizes=conv_kernel_sizes,
            final_layer=final_layer,
            loss=dict(
                type='CombinedLoss',
                losses=dict(keypoint_loss=keypoint_loss, tag_loss=tag_loss),
            ),
            decoder=decoder,
            init_cfg=init_cfg,
        )
        self.has_layers = has_layers
        self.num_keypoints = num_keypoints
        self.tag_dim = tag_dim
        self.tag_per_keypoint = tag_per_keypoint
        self.stack_loss_weights = (
            None if stack_loss_weights is None else list(stack_loss_weights)
        )

    def forward_stacks(self, feats: Features) -> List[Tuple[Tensor, Tensor]]:
        """Every supervised prediction, split into heatmaps and tags.

        Args:
            feats (Sequence[Tensor]): Backbone outputs, each (B, C, H, W)

        Returns:
            List[tuple]: one ``(heatmaps (B,K,H,W), tags (B,L*K,H,W))`` per
            supervised output, the last stack last
        """
        if self.has_layers:
            outputs = [super().forward(feats)]
        else:
            outputs = list(feats)
        return [self._split(out) for out in outputs]

    def forward(self, feats: Features) -> Tuple[Tensor, Tensor]:
        """The last prediction as ``(heatmaps (B,K,H,W), tags
        (B,L*K,H,W))``, as mmpose's head returns."""
        return self.forward_stacks(feats)[-1]

    def _split(self, output: Tensor) -> Tuple[Tensor, Tensor]:
        if output.shape[1] != self.out_channels:
            raise ValueError(
                f'{type(self).__name__} expects {self.out_channels} output '
                f'channels, got {output.shape[1]}'
            )
        K = self.num_keypoints
        heatmaps, tags = output[:, :K], output[:, K:]
        if not self.tag_per_keypoint:
            # channel l*K + k must hold dimension l of keypoint k
            tags = tags.repeat_interleave(K, dim=1)
        return heatmaps, tags

    def loss(
        self,
        feats: Features,
        batch_data_samples: OptSampleList,
        train_cfg: ConfigType = {},
    ) -> dict:
        """Heatmap and tag losses summed over the supervised stacks.

        Each data sample holds ``gt_fields.heatmaps`` (K, H, W), optionally
        ``gt_fields.heatmap_mask`` ((1,) H, W; 0 where the loss is ignored)
        and ``gt_instance_labels.keypoint_indices`` (N, K, 2).

        Returns:
            dict: ``loss_kpt``, ``loss_pull`` and ``loss_push`` (scalars)
        """
        stacks = self.forward_stacks(feats)
        weights = self.stack_loss_weights or [1.0] * len(stacks)
        if len(weights) != len(stacks):
            raise ValueError(
                f'stack_loss_weights has {len(weights)} entries for '
                f'{len(stacks)} supervised outputs'
            )
        gt_heatmaps, masks, keypoint_indices = self._targets(
            batch_data_samples, stacks[0][0]
        )

        loss_kpt = loss_pull = loss_push = 0.0
        for weight, (heatmaps, tags) in zip(weights, stacks):
            loss_kpt = loss_kpt + weight * self.loss_module.keypoint_loss(
                heatmaps, gt_heatmaps, None, masks
            )
            pull, push = self.loss_module.tag_loss(tags, keypoint_indices)
            loss_pull = loss_pull + weight * pull
            loss_push = loss_push + weight * push
        return dict(
            loss_kpt=loss_kpt, loss_pull=loss_pull, loss_push=loss_push
        )

    def _targets(
        self, batch_data_samples: OptSampleList, pred_heatmaps: Tensor
    ) -> Tuple[Tensor, Optional[Tensor], List[Tensor]]:
        """Stack the targets of a batch and check them against the output.

        Returns:
            tuple:
            - gt_heatmaps (Tensor): (B, K, H, W)
            - masks (Tensor | None): (B, 1, H, W) float, or ``None``
            - keypoint_indices (List[Tensor]): B tensors (N_i, K, 2)
        """
        K = self.num_keypoints
        H, W = pred_heatmaps.shape[-2:]
        device = pred_heatmaps.device
        gt_heatmaps = torch.stack(
            [d.gt_fields.heatmaps for d in batch_data_samples]
        ).to(device)
        if gt_heatmaps.shape[1:] != (K, H, W):
            raise ValueError(
                f'target heatmaps are {tuple(gt_heatmaps.shape[1:])} but the '
                f'head predicts ({K}, {H}, {W}): check the codec heatmap_size '
                'against the input size and the backbone stride'
            )
        if all('heatmap_mask' in d.gt_fields for d in batch_data_samples):
            masks = torch.stack(
                [
                    torch.as_tensor(d.gt_fields.heatmap_mask).reshape(1, H, W)
                    for d in batch_data_samples
                ]
            ).to(device=device, dtype=pred_heatmaps.dtype)
        else:
            masks = None
        keypoint_indices = []
        for i, d in enumerate(batch_data_samples):
            labels = d.get('gt_instance_labels', None)
            if labels is None or 'keypoint_indices' not in labels:
                raise ValueError(
                    f'data sample {i} ({d.metainfo.get("img_path")}) has no '
                    'gt_instance_labels.keypoint_indices: encode targets '
                    'with GenerateTarget and pack them with '
                    'PackBottomupPoseInputs'
                )
            keypoint_indices.append(labels.keypoint_indices.to(device))
        return gt_heatmaps, masks, keypoint_indices

    def predict(
        self,
        feats: Features,
        batch_data_samples: OptSampleList,
        test_cfg: ConfigType = {},
    ) -> Predictions:
        """Decode people, with optional flip and multi-scale test.

        Args:
            feats: ``Sequence[Tensor]`` for a single pass; with
                ``flip_test`` a pair ``[feats, feats_of_flipped_input]``; with
                ``multiscale_test`` a list over scales of either form, the
                original scale first
            batch_data_samples (List[PoseDataSample]): The batch data samples
            test_cfg (dict): ``flip_test``, ``multiscale_test``,
                ``shift_heatmap``, ``align_corners``,
                ``restore_heatmap_size`` (resize to the input image size
                before decoding) and ``output_heatmaps``

        Returns:
            List[InstanceData] (and List[PixelData] with
            ``output_heatmaps``): per image ``keypoints`` (N, K, 2) in input
            space, ``keypoint_scores`` (N, K), ``bbox_scores`` (N, ); the
            pixel data holds ``heatmaps`` (K, H, W) and ``tags``
            (S*F*L*K, H, W) for S scales and F flips
        """
        flip_test = test_cfg.get('flip_test', False)
        per_scale = (
            feats if test_cfg.get('multiscale_test', False) else [feats]
        )
        size = None
        if test_cfg.get('restore_heatmap_size', False):
            img_shapes = {
                tuple(d.metainfo['img_shape'][:2]) for d in batch_data_samples
            }
            if len(img_shapes) != 1:
                raise ValueError(
                    'restore_heatmap_size needs one input size per batch, '
                    f'got {sorted(img_shapes)}'
                )
            size = img_shapes.pop()

        all_heatmaps, all_tags = [], []
        for scale_feats in per_scale:
            if flip_test:
                flip_indices = batch_data_samples[0].metainfo['flip_indices']
                heatmaps, tags = self.forward(scale_feats[0])
                flip_heatmaps, flip_tags = self.forward(scale_feats[1])
                all_heatmaps += [
                    heatmaps,
                    self._flip(flip_heatmaps, flip_indices, test_cfg),
                ]
                all_tags += [
                    tags,
                    self._flip(flip_tags, flip_indices, test_cfg),
                ]
            else:
                heatmaps, tags = self.forward(scale_feats)
                all_heatmaps.append(heatmaps)
                all_tags.append(tags)

        if size is None:
            size = tuple(all_heatmaps[0].shape[-2:])
        align_corners = test_cfg.get('align_corners', False)
        batch_heatmaps = torch.stack(
            [self._resize(h, size, align_corners) for h in all_heatmaps]
        ).mean(dim=0)
        batch_tags = torch.cat(
            [self._resize(t, size, align_corners) for t in all_tags], dim=1
        )

        preds = self.decode((batch_heatmaps, batch_tags))
        if test_cfg.get('output_heatmaps', False):
            pred_fields = [
                PixelData(heatmaps=h, tags=t)
                for h, t in zip(batch_heatmaps.detach(), batch_tags.detach())
            ]
            return preds, pred_fields
        return preds

    def _flip(
        self, maps: Tensor, flip_indices: Sequence[int], test_cfg: ConfigType
    ) -> Tensor:
        """Undo a horizontal flip of (B, L*K, H, W) maps: mirror them and
        swap left/right keypoint channels."""
        B, C, H, W = maps.shape
        K = self.num_keypoints
        if len(flip_indices) != K:
            raise ValueError(
                f'flip_indices has {len(flip_indices)} entries for K={K}'
            )
        maps = maps.flip(-1).view(B, C // K, K, H, W)[:, :, flip_indices]
        maps = maps.reshape(B, C, H, W)
        if test_cfg.get('shift_heatmap', False):
            maps = torch.cat([maps[..., :1], maps[..., :-1]], dim=-1)
        return maps

    @staticmethod
    def _resize(
        maps: Tensor, size: Tuple[int, int], align_corners: bool
    ) -> Tensor:
        if tuple(maps.shape[-2:]) == tuple(size):
            return maps
        return F.interpolate(
            maps, size=size, mode='bilinear', align_corners=align_corners
        )

    def decode(self, batch_outputs: Tuple[Tensor, Tensor]) -> List:
        """Group people with the codec's ``batch_decode``.

        Args:
            batch_outputs (tuple): heatmaps (B, K, H, W) and tags
                (B, L*K, H, W)

        Returns:
            List[InstanceData]: per image ``keypoints`` (N, K, 2),
            ``keypoint_scores`` (N, K) and ``bbox_scores`` (N, )
        """
        if self.decoder is None:
            raise RuntimeError(
                f'{type(self).__name__} has no decoder: set `decoder` in its '
                'config to use predict() or decode()'
            )
        keypoints, scores, instance_scores = self.decoder.batch_decode(
            *batch_outputs
        )
        return [
            InstanceData(keypoints=k, keypoint_scores=s, bbox_scores=i)
            for k, s, i in zip(keypoints, scores, instance_scores)
        ]
