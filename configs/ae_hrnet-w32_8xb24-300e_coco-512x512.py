# Associative Embedding on mmpose's HRNet-w32 (as mmpose 1.x's AE config):
# the same head, codec, pipelines and schedule as the hourglass model; only
# the backbone and the head's input layer change. The head maps HRNet's
# highest-resolution branch (32 channels, 1/4 of the input) to K heatmaps +
# K tags with a 1x1 conv, and supervises that single output.
_base_ = ['./ae_hourglass-4stack_8xb6-300e_coco-512x512.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='HRNet',
        in_channels=3,
        extra=dict(
            stage1=dict(
                num_modules=1,
                num_branches=1,
                block='BOTTLENECK',
                num_blocks=(4,),
                num_channels=(64,),
            ),
            stage2=dict(
                num_modules=1,
                num_branches=2,
                block='BASIC',
                num_blocks=(4, 4),
                num_channels=(32, 64),
            ),
            stage3=dict(
                num_modules=4,
                num_branches=3,
                block='BASIC',
                num_blocks=(4, 4, 4),
                num_channels=(32, 64, 128),
            ),
            stage4=dict(
                num_modules=3,
                num_branches=4,
                block='BASIC',
                num_blocks=(4, 4, 4, 4),
                num_channels=(32, 64, 128, 256),
            ),
        ),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmpose/'
            'pretrain_models/hrnet_w32-36af842e.pth',
        ),
    ),
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
