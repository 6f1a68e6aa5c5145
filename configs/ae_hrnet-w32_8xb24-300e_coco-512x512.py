# Associative Embedding on mmpose's HRNet-w32 (as mmpose 1.x's AE config):
# the same head, codec, pipelines and schedule as the hourglass model; only
# the backbone and the head's input layer change. The head maps HRNet's
# highest-resolution branch (32 channels, 1/4 of the input) to K heatmaps +
# K tags with a 1x1 conv, and supervises that single output.
_base_ = [
    './ae_hourglass-4stack_8xb6-300e_coco-512x512.py',
    './_base_/models/hrnet-w32.py',
]

model = dict(
    backbone=dict(_base_.hrnet_w32, _delete_=True),
    head=dict(in_channels=32, final_layer=dict(_delete_=True, kernel_size=1)),
)

# HRNet's input needs a multiple of 32 only
val_pipeline = [
    _base_.load_image,
    dict(_base_.resize, size_factor=32),
    _base_.pack_val_inputs,
]
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

train_dataloader = dict(batch_size=24)
auto_scale_lr = dict(base_batch_size=192)
