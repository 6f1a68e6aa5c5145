# Associative Embedding on CrowdPose: the paper's network
# (_base_/models/ae_hourglass-4stack.py: 4-stack hourglass, 256 features,
# +128 per level, 512 input, 128x128 output, 1-D tags, pull/push weight
# 1e-3, every stack supervised) for CrowdPose's 14 keypoints, so 28 output
# channels.
#
# Recipe: the COCO one unchanged (8 GPUs x 6 images, Adam 1.5e-3, 300
# epochs, x0.1 at 200 and 260; the same augmentation and flip test), trained
# on CrowdPose trainval (~12k images) and evaluated on its test split with
# CrowdPose's AP (AP(E), AP(M), AP(H) by crowd index).
_base_ = [
    './_base_/models/ae_hourglass-4stack.py',
    './_base_/datasets/crowdpose_bottomup.py',
    './_base_/schedules/adam_step-300e.py',
]

default_hooks = dict(
    checkpoint=dict(save_best='crowdpose/AP', rule='greater', interval=50)
)

model = dict(
    backbone=dict(out_channels=28),
    head=dict(
        in_channels=28,
        num_keypoints=14,
        # heatmaps are resized to the input size before grouping
        decoder=dict(_base_.codec, heatmap_size=_base_.codec['input_size']),
    ),
)

train_dataloader = dict(batch_size=6)
