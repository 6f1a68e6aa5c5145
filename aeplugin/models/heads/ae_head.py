import warnings
from typing import List, Optional, Sequence, Tuple, Union

import torch
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

from ..losses.ae_loss import pad_keypoint_indices
from ..utils import resample_maps

OptIntSeq = Optional[Sequence[int]]
OutputPair = Tuple[Tensor, Tensor]
MISSING_MASK_OPTIONS = ('warn', 'error', 'ignore')
MISSING_MASK_HINT = (
    'add BottomupCrowdMask after GenerateTarget in the training pipeline '
    "(it writes `heatmap_mask`; mmpose's PackPoseInputs packs it through "
    "the BottomupGrouping codec's field table), or set the head's "
    "missing_mask='ignore' for data without crowds"
)
# test_cfg options of mmpose's head that move maps by a fixed offset: the
# replacement each message names
REFUSED_TEST_CFG = dict(
    shift_heatmap=(
        'leave it out (or False): with flip_test the flipped pass is already '
        'resampled exactly onto the original one, (stride - 1) / stride '
        "heatmap pixels where mmpose's shift moves a whole pixel (see "
        'aeplugin.models.utils.resample_maps)'
    ),
    align_corners=(
        "leave it out (or False): maps are resampled in the codec's pixel "
        'convention; for corner-aligned maps set use_udp=True in the codec '
        '(the decoder), which the resampling then follows'
    ),
)


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
      included) and the ignore mask (a batch without one warns once, see
      ``missing_mask``); no instance-level weights are
      fed to the heatmap loss (mmpose passes (sum N, K) weights to a loss
      that expects (B, K)).
    - ``predict()`` concatenates the tags of every flip and scale (mmpose
      keeps only the original scale's) and resamples every pass onto one
      grid without the sub-pixel offsets of ``F.interpolate`` and
      ``shift_heatmap`` (see :func:`resample_maps`); ``test_cfg`` asking for
      either stops the estimator's construction with the replacement.
    - Defaults: no deconv layers and a tag loss weight of 1e-3 (what
      mmpose's AE config states; its signature has SimpleBaseline's three
      deconvs and weight 1.0), see docs/components.md.

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
        missing_mask (str): What ``loss()`` does with a batch whose samples
            (some or all) carry no ``heatmap_mask``, i.e. whose pipeline
            lacks ``BottomupCrowdMask``: crowds and unlabelled people would
            train as background. ``'warn'`` warns once (naming the
            transform to add) and trains those samples unmasked,
            ``'error'`` raises a ``ValueError``, ``'ignore'`` trains them
            unmasked without a word (data without crowds). Defaults to
            ``'warn'``
    """

    # The data samples' PixelData of targets and the suffix of their maps'
    # names in the batch tensors of bottomup_collate, per resolution.
    target_fields = (('gt_fields', ''),)
    # What builds and packs those targets, for the errors that need them.
    target_hint = (
        'encode targets with GenerateTarget and pack them with '
        'PackBottomupPoseInputs'
    )

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
        missing_mask: str = 'warn',
    ):
        if missing_mask not in MISSING_MASK_OPTIONS:
            raise ValueError(
                f'missing_mask must be one of {MISSING_MASK_OPTIONS}, got '
                f'{missing_mask!r}'
            )
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
        self.missing_mask = missing_mask
        self._warned_missing_mask = False

    @property
    def test_cfg(self) -> dict:
        """The estimator's ``test_cfg``: mmpose's ``BasePoseEstimator``
        hands it to its head when it builds it, so options this head refuses
        (:data:`REFUSED_TEST_CFG`) stop the model's construction."""
        return self.__dict__.get('_test_cfg', {})

    @test_cfg.setter
    def test_cfg(self, test_cfg: ConfigType) -> None:
        self._check_test_cfg(test_cfg)
        self._test_cfg = test_cfg

    @staticmethod
    def _check_test_cfg(test_cfg: ConfigType) -> None:
        """Refuse mmpose's ``shift_heatmap`` and ``align_corners``, naming
        what to use instead."""
        for option, instead in REFUSED_TEST_CFG.items():
            if test_cfg.get(option, False):
                raise ValueError(
                    f"test_cfg {option}=True is not supported by aeplugin's "
                    f"AssociativeEmbeddingHead: {instead}. mmpose's head "
                    "(type='mmpose.AssociativeEmbeddingHead') takes it"
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
        batch_data_samples: Union[OptSampleList, dict],
        train_cfg: ConfigType = {},
    ) -> dict:
        """Heatmap and tag losses summed over the supervised stacks.

        ``batch_data_samples`` is the batch tensors of
        :func:`bottomup_collate` (a dict with ``heatmaps`` (B, K, H, W),
        optionally ``heatmap_mask`` (B, 1, H, W), and ``keypoint_indices``
        (B, N, K, 2)), or mmpose's list of data samples, each with
        ``gt_fields.heatmaps`` (K, H, W), ``gt_fields.heatmap_mask``
        ((1,) H, W; 0 where the loss is ignored) and
        ``gt_instance_labels.keypoint_indices`` (N, K, 2), which is
        converted to those tensors on the output's device first. Without
        the mask, ``missing_mask`` says what happens.

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
        self,
        batch_data_samples: Union[OptSampleList, dict],
        pred_heatmaps: Tensor,
    ) -> Tuple[Tensor, Optional[Tensor], Tensor]:
        """The batch's targets, checked against the output.

        Returns:
            tuple:
            - gt_heatmaps (Tensor): (B, K, H, W)
            - masks (Tensor | None): (B, 1, H, W) in the output's dtype, or
              ``None``
            - keypoint_indices (Tensor): (B, N, K, 2)
        """
        batch, missing = self._target_batch(
            batch_data_samples, pred_heatmaps.device
        )
        gt_heatmaps, masks = self._resolution_targets(
            batch, missing, '', pred_heatmaps
        )
        return gt_heatmaps, masks, batch['keypoint_indices']

    def _target_batch(
        self,
        batch_data_samples: Union[OptSampleList, dict],
        device: torch.device,
    ) -> Tuple[dict, dict]:
        """The batch tensors of :func:`bottomup_collate`, as they come or
        converted once from mmpose's list of data samples
        (``pseudo_collate`` and ``PoseDataPreprocessor``) by
        :meth:`_batch_targets`, so that both reach the losses one way; and
        what lacks a mask, per resolution.

        Returns:
            tuple:
            - batch (dict): The batch tensors
            - missing (dict): Per suffix of ``target_fields``, what lacks
              its ``heatmap_mask`` (a phrase for :meth:`_missing_mask`),
              or ``''`` when nothing does
        """
        if isinstance(batch_data_samples, dict):
            return batch_data_samples, {
                suffix: (
                    f'the batch tensors hold no heatmap_mask{suffix}'
                    if 'heatmap_mask' + suffix not in batch_data_samples
                    else ''
                )
                for _, suffix in self.target_fields
            }
        missing = {}
        for fields, suffix in self.target_fields:
            num_missing = sum(
                'heatmap_mask' not in (d.get(fields) or {})
                for d in batch_data_samples
            )
            missing[suffix] = (
                f'{num_missing} of {len(batch_data_samples)} data samples '
                f'have no {fields}.heatmap_mask'
                if num_missing
                else ''
            )
        return self._batch_targets(batch_data_samples, device), missing

    def _resolution_targets(
        self, batch: dict, missing: dict, suffix: str, pred: Tensor
    ) -> Tuple[Tensor, Optional[Tensor]]:
        """The target heatmaps and masks of one resolution, checked against
        its prediction.

        Args:
            batch (dict): The batch tensors
            missing (dict): What lacks a mask, per suffix
            suffix (str): The resolution's suffix in ``target_fields``
            pred (Tensor): Its predicted heatmaps (B, K, h, w)

        Returns:
            tuple:
            - gt_heatmaps (Tensor): (B, K, h, w)
            - masks (Tensor | None): (B, 1, h, w) in the prediction's
              dtype, or ``None``
        """
        gt_heatmaps = batch.get('heatmaps' + suffix)
        if gt_heatmaps is None:
            raise ValueError(
                f'{type(self).__name__} needs heatmaps{suffix} targets for '
                f'every sample: {self.target_hint}'
            )
        if gt_heatmaps.shape[1:] != pred.shape[1:]:
            raise ValueError(
                f'target heatmaps{suffix} are {tuple(gt_heatmaps.shape[1:])} '
                f'but the head predicts {tuple(pred.shape[1:])}: check the '
                'codec heatmap_size against the input size and the backbone '
                'stride'
            )
        if missing[suffix]:
            self._missing_mask(missing[suffix])
        masks = batch.get('heatmap_mask' + suffix)
        if masks is not None:
            masks = masks.to(pred.dtype)
        return gt_heatmaps, masks

    def _missing_mask(self, what: str) -> None:
        """Apply ``missing_mask`` to a batch without (every) mask."""
        if self.missing_mask == 'ignore':
            return
        message = (
            f'{type(self).__name__}: {what}, so crowds and unlabelled people '
            f'train as background: {MISSING_MASK_HINT}'
        )
        if self.missing_mask == 'error':
            raise ValueError(message)
        if not self._warned_missing_mask:
            self._warned_missing_mask = True
            warnings.warn(message, UserWarning, stacklevel=3)

    def _batch_targets(
        self, batch_data_samples: OptSampleList, device: torch.device
    ) -> dict:
        """The targets of a list of data samples as the batch tensors of
        :func:`bottomup_collate`, every one built on ``device``.

        Every map of each ``target_fields`` PixelData is stacked, named
        with its suffix; a sample without a mask (a field named ``*mask``)
        gets one of ones, the masks reshaped to (1, h, w). The people are
        padded to the most of an image with unlabelled keypoints
        (:func:`pad_keypoint_indices`).

        Note:
            - batch size: B
            - instance number: N (the most in an image of the batch)
            - keypoint number: K
            - heatmap size: [W, H]

        Args:
            batch_data_samples (List[PoseDataSample]): Samples with
                ``gt_fields.heatmaps`` (K, H, W), optionally
                ``gt_fields.heatmap_mask`` ((1,) H, W) and
                ``gt_instance_labels.keypoint_indices`` (N_i, K, 2)
            device (torch.device): Where the tensors are built

        Returns:
            dict: ``heatmaps`` (B, K, H, W), ``heatmap_mask`` (B, 1, H, W)
            float32 when a sample has one, any other map stacked alike,
            and ``keypoint_indices`` (B, N, K, 2) int64
        """
        batch = {}
        for fields, suffix in self.target_fields:
            maps = [d.get(fields) or {} for d in batch_data_samples]
            names = dict.fromkeys(name for m in maps for name in m.keys())
            for name in names:
                values = [m.get(name) for m in maps]
                shape = next(v for v in values if v is not None).shape
                if name.endswith('mask'):
                    shape = (1, *shape[-2:])
                    batch[name + suffix] = torch.stack(
                        [
                            torch.ones(shape, device=device)
                            if v is None
                            else torch.as_tensor(v, device=device)
                            .reshape(shape)
                            .float()
                            for v in values
                        ]
                    )
                    continue
                for i, v in enumerate(values):
                    if v is None:
                        path = batch_data_samples[i].metainfo.get('img_path')
                        raise ValueError(
                            f'data sample {i} ({path}) has no '
                            f'{fields}.{name}, which other samples of the '
                            f'batch have: {self.target_hint}'
                        )
                batch[name + suffix] = torch.stack(
                    [torch.as_tensor(v, device=device) for v in values]
                )
        if 'heatmaps' not in batch:
            raise ValueError(
                f'the data samples have no gt_fields.heatmaps: '
                f'{self.target_hint}'
            )
        indices = []
        for i, d in enumerate(batch_data_samples):
            labels = d.get('gt_instance_labels', None)
            if labels is None or 'keypoint_indices' not in labels:
                raise ValueError(
                    f'data sample {i} ({d.metainfo.get("img_path")}) has no '
                    f'gt_instance_labels.keypoint_indices: {self.target_hint}'
                )
            indices.append(labels.keypoint_indices)
        batch['keypoint_indices'] = pad_keypoint_indices(
            indices, batch['heatmaps'].shape[-2:], device
        )
        return batch

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
                ``restore_heatmap_size`` (resample to the input image size
                before decoding) and ``output_heatmaps``; every pass is
                resampled onto the output grid with the codec's pixel
                convention (:func:`resample_maps`), so mmpose's
                ``shift_heatmap`` and ``align_corners`` must be left off
                (a ``ValueError`` naming the replacement, before any
                decoding)

        Returns:
            See :meth:`predict_outputs`.
        """
        # before the network runs on anything
        self._check_test_cfg(test_cfg)
        multiscale_test = test_cfg.get('multiscale_test', False)
        outputs = [
            [self.forward(f) for f in scale_feats]
            if test_cfg.get('flip_test', False)
            else self.forward(scale_feats)
            for scale_feats in (feats if multiscale_test else [feats])
        ]
        return self.predict_outputs(
            outputs if multiscale_test else outputs[0],
            batch_data_samples,
            test_cfg,
        )

    def predict_outputs(
        self,
        outputs: Union[OutputPair, Sequence],
        batch_data_samples: OptSampleList,
        test_cfg: ConfigType = {},
    ) -> Predictions:
        """Decode people from the network's outputs: the part of
        :meth:`predict` after :meth:`forward`, for outputs computed
        elsewhere (e.g. by an ONNX runtime).

        Args:
            outputs: The ``(heatmaps (B,K,h,w), tags (B,L*K,h,w))`` pair of
                :meth:`forward`, nested as ``feats`` is in :meth:`predict`
                (a pair of pairs with ``flip_test``, the flipped input's
                second, unmirrored; a list over scales with
                ``multiscale_test``)
            batch_data_samples (List[PoseDataSample]): The batch data samples
            test_cfg (dict): As in :meth:`predict`

        Returns:
            List[InstanceData] (and List[PixelData] with
            ``output_heatmaps``): per image ``keypoints`` (N, K, 2) in input
            space, ``keypoint_scores`` (N, K), ``bbox_scores`` (N, ); the
            pixel data holds ``heatmaps`` (K, H, W) and ``tags``
            (S*F*L*K, H, W) for S scales and F flips
        """
        self._check_test_cfg(test_cfg)
        flip_test = test_cfg.get('flip_test', False)
        per_scale = (
            outputs if test_cfg.get('multiscale_test', False) else [outputs]
        )
        # The network sees the whole image: padding a smaller input of the
        # batch to the largest changes every output for it.
        img_shapes = {
            tuple(d.metainfo['img_shape'][:2])
            for d in batch_data_samples
            if 'img_shape' in d.metainfo
        }
        padded = batch_data_samples[0].metainfo.get('batch_input_shape')
        if len(img_shapes) > 1 or (
            padded is not None and img_shapes and img_shapes != {tuple(padded)}
        ):
            raise ValueError(
                f'a batch needs one input size: inputs of sizes '
                f'{sorted(img_shapes)} were padded to {padded}, which changes '
                'every output of a network that sees the whole image; batch '
                'images of one shape (ShapeGroupedBatchSampler) or use '
                'batch_size=1'
            )
        size = None
        if test_cfg.get('restore_heatmap_size', False):
            size = next(iter(img_shapes))

        # one (maps, flipped) pair per network pass, original scale first
        heatmap_passes, tag_passes = [], []
        for scale_outputs in per_scale:
            passes = (
                [(scale_outputs[0], False), (scale_outputs[1], True)]
                if flip_test
                else [(scale_outputs, False)]
            )
            for (heatmaps, tags), flipped in passes:
                if flipped:
                    flip_indices = batch_data_samples[0].metainfo[
                        'flip_indices'
                    ]
                    heatmaps = self._unflip(heatmaps, flip_indices)
                    tags = self._unflip(tags, flip_indices)
                heatmap_passes.append((heatmaps, flipped))
                tag_passes.append((tags, flipped))

        base_size = tuple(heatmap_passes[0][0].shape[-2:])
        if size is None:
            size = base_size
        udp = bool(getattr(self.decoder, 'use_udp', False))
        stride = 1.0
        if flip_test:
            img_shape = batch_data_samples[0].metainfo.get('img_shape')
            if img_shape is None:
                raise ValueError(
                    'flip_test needs the input size: data samples must '
                    'carry `img_shape` in their metainfo'
                )
            stride = img_shape[1] / base_size[1]
        batch_heatmaps = torch.stack(
            [
                resample_maps(maps, flipped, size, stride, udp)
                for maps, flipped in heatmap_passes
            ]
        ).mean(dim=0)
        batch_tags = torch.cat(
            [
                resample_maps(maps, flipped, size, stride, udp)
                for maps, flipped in tag_passes
            ],
            dim=1,
        )

        preds = self.decode((batch_heatmaps, batch_tags))
        if test_cfg.get('output_heatmaps', False):
            pred_fields = [
                PixelData(heatmaps=h, tags=t)
                for h, t in zip(batch_heatmaps.detach(), batch_tags.detach())
            ]
            return preds, pred_fields
        return preds

    def _unflip(self, maps: Tensor, flip_indices: Sequence[int]) -> Tensor:
        """Mirror (B, L*K, H, W) maps of the flipped input back and swap
        left/right keypoint channels (the half-pixel shift that remains is
        undone by :func:`resample_maps`)."""
        B, C, H, W = maps.shape
        K = self.num_keypoints
        if len(flip_indices) != K:
            raise ValueError(
                f'flip_indices has {len(flip_indices)} entries for K={K}'
            )
        maps = maps.flip(-1).view(B, C // K, K, H, W)[:, :, flip_indices]
        return maps.reshape(B, C, H, W)

    def decode(self, batch_outputs: Tuple[Tensor, Tensor]) -> List:
        """Group people with the codec's ``batch_decode``.

        Args:
            batch_outputs (tuple): heatmaps (B, K, H, W) and tags
                (B, L*K, H, W)

        Returns:
            List[InstanceData]: per image ``keypoints`` (N, K, 2),
            ``keypoint_scores`` (N, K) and ``bbox_scores`` (N, )

        Raises:
            ValueError: NaN or infinite maps (the grouping would compare NaN
                tags, and COCO's matching takes a NaN OKS for a match, so
                all-NaN keypoints silently score the ground truth's own
                AP), or NaN or infinite decoded keypoints
        """
        if self.decoder is None:
            raise RuntimeError(
                f'{type(self).__name__} has no decoder: set `decoder` in its '
                'config to use predict() or decode()'
            )
        for name, maps in zip(('heatmaps', 'tags'), batch_outputs):
            finite = torch.isfinite(maps).flatten(1).all(dim=1)
            if not finite.all():
                raise ValueError(
                    f'{name} {tuple(maps.shape)} hold NaN or infinite values '
                    f'in images {(~finite).nonzero().flatten().tolist()} of '
                    'the batch: the model diverged or its weights are broken'
                )
        keypoints, scores, instance_scores = self.decoder.batch_decode(
            *batch_outputs
        )
        for i, (k, s) in enumerate(zip(keypoints, scores)):
            if not all(
                torch.isfinite(torch.as_tensor(a)).all() for a in (k, s)
            ):
                raise ValueError(
                    f'the decoder returned NaN or infinite keypoints or '
                    f'scores for image {i} of the batch'
                )
        return [
            InstanceData(keypoints=k, keypoint_scores=s, bbox_scores=i)
            for k, s, i in zip(keypoints, scores, instance_scores)
        ]
