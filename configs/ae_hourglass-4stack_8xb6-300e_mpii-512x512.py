# Associative Embedding on MPII multi-person (the paper's Table 2: mAP 77.5):
# the paper's network (_base_/models/ae_hourglass-4stack.py: 4-stack
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
    './_base_/models/ae_hourglass-4stack.py',
    './_base_/datasets/mpii_bottomup.py',
    './_base_/schedules/adam_step-300e.py',
]

default_hooks = dict(
    checkpoint=dict(save_best='mpii/mAP', rule='greater', interval=50)
)

model = dict(
    backbone=dict(out_channels=32),
    head=dict(
        in_channels=32,
        num_keypoints=16,
        # heatmaps are resized to the input size before grouping
        decoder=dict(_base_.codec, heatmap_size=_base_.codec['input_size']),
    ),
)

train_dataloader = dict(batch_size=6)
