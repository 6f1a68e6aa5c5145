# Associative Embedding, the paper's network: 4-stack hourglass, 256
# features (+128 per level), 512 input, 128x128 output, 17 keypoints with
# 1-D tags, pull/push weight 1e-3, every stack supervised.
#
# Schedule: mmpose 0.x's (8 GPUs x 6 images, Adam 1.5e-3, 300 epochs, x0.1
# at 200 and 260), the recipe of mmpose's published hourglass_ae_coco_512x512
# (COCO val AP 0.613 with flip). It is chosen over the official code's
# (batch 32, Adam 2e-4 until the loss plateaus, then 1e-5) because its stop
# points are fixed and its result was reproduced inside mmpose, whose
# checkpoint converts to this model
# (tools/model_converters/convert_mmpose_hourglass.py).
# Other GPU counts: `--auto-scale-lr`; mixed precision: `--amp`; memory:
# `--cfg-options model.backbone.with_cp=True`.
_base_ = [
    './_base_/models/ae_hourglass-4stack.py',
    './_base_/datasets/coco_bottomup.py',
    './_base_/schedules/adam_step-300e.py',
]

default_hooks = dict(
    checkpoint=dict(save_best='coco/AP', rule='greater', interval=50)
)

model = dict(
    # heatmaps are resized to the input size before grouping
    head=dict(
        decoder=dict(_base_.codec, heatmap_size=_base_.codec['input_size'])
    )
)

train_dataloader = dict(batch_size=6)
