# HigherHRNet (Cheng et al., CVPR 2020; the official
# experiments/coco/higher_hrnet/w32_*.yaml): mmpose's HRNet-w32, whose
# highest-resolution branch (32 channels, 1/4 of the input) feeds a 1x1
# conv to 17 heatmaps + 17 tags (1-D) and a deconvolution stage (4x4
# transposed conv, BN, ReLU, 4 basic blocks, 32 channels) to 17 heatmaps at
# 1/2; heatmap losses 1.0 at both resolutions, pull/push 1e-3 (exp push) on
# the 1/4 tags. The config adds the head's decoder (its dataset's codec).
# `_scope_`: the model builds in the aeplugin scope also from mmpose's
# (MMPoseInferencer's default scope='mmpose').
_base_ = ['./hrnet-w32.py']

model = dict(
    type='BottomupPoseEstimator',
    _scope_='aeplugin',
    data_preprocessor=dict(
        type='BottomupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
    ),
    backbone=_base_.hrnet_w32,
    head=dict(
        type='HigherAssociativeEmbeddingHead',
        in_channels=32,
        num_keypoints=17,
        tag_dim=1,
        num_basic_blocks=4,
        heatmap_loss_weights=(1.0, 1.0),
        keypoint_loss=dict(type='KeypointMSELoss'),
        tag_loss=dict(type='AELoss', loss_weight=1e-3),
    ),
    test_cfg=dict(flip_test=True, restore_heatmap_size=True),
)
