# HigherHRNet-w48 at 640 (the official w48_640_adam_lr1e-3.yaml, COCO
# val2017 AP 69.9 without multi-scale test, 72.1 with): HRNet-w48 (48, 96,
# 192, 384 channels), a 48-channel deconvolution stage, 10 images per GPU.
_base_ = ['./ae_higherhrnet-w32_8xb12-300e_coco-640x640.py']

model = dict(
    backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(48, 96)),
            stage3=dict(num_channels=(48, 96, 192)),
            stage4=dict(num_channels=(48, 96, 192, 384)),
        ),
        init_cfg=dict(
            checkpoint='https://download.openmmlab.com/mmpose/'
            'pretrain_models/hrnet_w48-8ef0771d.pth'
        ),
    ),
    head=dict(in_channels=48),
)

train_dataloader = dict(batch_size=10)
auto_scale_lr = dict(base_batch_size=80)
