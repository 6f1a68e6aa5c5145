# mmpose's HRNet-w32, ImageNet-pretrained: the backbone of the HRNet-w32 AE
# and HigherHRNet-w32 configs, which read its highest-resolution branch
# (32 channels, 1/4 of the input).
hrnet_w32 = dict(
    type='mmpose.HRNet',
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
)
