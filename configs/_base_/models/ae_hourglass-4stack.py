# The paper's network: 4-stack hourglass, 256 features (+128 per level),
# 1/4-resolution output, 1-D tags, pull/push weight 1e-3, every stack
# supervised; 17 COCO keypoints (a dataset with K keypoints sets the
# backbone's out_channels to 2K and the head's in_channels and
# num_keypoints). The config adds the head's decoder (its dataset's codec).
# `_scope_` builds the model and its parts in the aeplugin scope also from
# a builder in mmpose's scope (MMPoseInferencer's default scope='mmpose').
model = dict(
    type='BottomupPoseEstimator',
    _scope_='aeplugin',
    data_preprocessor=dict(
        type='BottomupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
    ),
    backbone=dict(
        type='HourglassAE',
        num_stacks=4,
        feat_channels=256,
        increase=128,
        depth=4,
        out_channels=34,
    ),
    head=dict(
        type='AssociativeEmbeddingHead',
        in_channels=34,
        num_keypoints=17,
        tag_dim=1,
        final_layer=None,
        keypoint_loss=dict(type='KeypointMSELoss'),
        tag_loss=dict(type='AELoss', loss_weight=1e-3),
    ),
    test_cfg=dict(flip_test=True, restore_heatmap_size=True),
)
