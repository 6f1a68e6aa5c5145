# Associative Embedding on MPII multi-person (the paper's Table 2: mAP 77.5):
# the paper's network of ae_hourglass-4stack_coco-512x512.py (4-stack
# hourglass, 256 features, +128 per level, 512 input, 128x128 output, 1-D
# tags, pull/push weight 1e-3, every stack supervised) for MPII's 16 joints,
# so 32 output channels.
#
# Recipe: the COCO one unchanged (8 GPUs x 6 images, Adam 1.5e-3, 300
# epochs, x0.1 at 200 and 260; the same augmentation and flip test). MPII's
# ~17k training images make an epoch about a quarter of COCO's, so the
# schedule is ~4x shorter in iterations. Evaluation: MPII's multi-person AP
# (PCKh@0.5, evaluateAP.m's protocol) on the held-out images.
_base_ = [
    './_base_/datasets/mpii_bottomup.py',
    './_base_/schedules/adam_step-300e.py',
]

default_hooks = dict(
    checkpoint=dict(save_best='mpii/mAP', rule='greater', interval=50)
)

model = dict(
    type='BottomupPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
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
        out_channels=32,
    ),
    head=dict(
        type='AssociativeEmbeddingHead',
        in_channels=32,
        num_keypoints=16,
        tag_dim=1,
        final_layer=None,
        keypoint_loss=dict(type='KeypointMSELoss'),
        tag_loss=dict(type='AELoss', loss_weight=1e-3),
        # heatmaps are resized to the input size before grouping
        decoder=dict(_base_.codec, heatmap_size=_base_.codec['input_size']),
    ),
    test_cfg=dict(flip_test=True, restore_heatmap_size=True),
)

train_dataloader = dict(batch_size=6)
