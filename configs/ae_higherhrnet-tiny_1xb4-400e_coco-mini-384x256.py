# A small HigherHRNet that trains on the 28 shipped COCO images
# (data/coco-mini) on 2 CPU cores, framed as the hourglass main job
# (configs/ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py, whose data,
# schedule and runtime it inherits): it evaluates on its own training
# images, a check that the two-resolution targets, loss, aggregation and
# decoding agree on coordinates end to end.
_base_ = ['./ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py']

# Targets at 96x64 (heatmaps, tags) and 192x128 (heatmaps), sigma 2 at
# both; decoding at 192x128 (the head's aggregated output, no resize to
# the input). No UDP: the aggregation upsamples on the non-UDP grid, and
# the 1/2 maps round targets to 2 input pixels, not the hourglass's 4.
codec = dict(
    _base_.codec,
    type='HigherBottomupGrouping',
    use_udp=False,
)
train_pipeline = [
    _base_.load_image,
    dict(
        _base_.random_affine,
        input_size=codec['input_size'],
        shift_factor=0.0,
        scale_factor=(1.0, 1.0),
        scale_type='long',
        rotate_factor=0.0,
    ),
    _base_.random_flip,
    dict(_base_.generate_target, encoder=codec),
    dict(_base_.crowd_mask, heatmap_keys=('heatmaps', 'heatmaps_2x')),
    dict(type='PackHigherBottomupPoseInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# HRNet at half w32's widths (branches of 16, 32, 64 and 128 channels),
# one module of 2 blocks per stage; a 16-channel deconvolution stage with 2
# basic blocks; no ImageNet weights. An iteration costs about 1.36x the
# tiny hourglass's CPU time (docs/benchmarks.md#higherhrnet).
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpose.HRNet',
        in_channels=3,
        extra=dict(
            stage1=dict(
                num_modules=1,
                num_branches=1,
                block='BOTTLENECK',
                num_blocks=(2,),
                num_channels=(16,),
            ),
            stage2=dict(
                num_modules=1,
                num_branches=2,
                block='BASIC',
                num_blocks=(2, 2),
                num_channels=(16, 32),
            ),
            stage3=dict(
                num_modules=1,
                num_branches=3,
                block='BASIC',
                num_blocks=(2, 2, 2),
                num_channels=(16, 32, 64),
            ),
            stage4=dict(
                num_modules=1,
                num_branches=4,
                block='BASIC',
                num_blocks=(2, 2, 2, 2),
                num_channels=(16, 32, 64, 128),
            ),
        ),
    ),
    head=dict(
        _delete_=True,
        type='HigherAssociativeEmbeddingHead',
        in_channels=16,
        num_keypoints=17,
        num_basic_blocks=2,
        # the hinge push, as the hourglass main job (see its config)
        tag_loss=dict(type='AELoss', loss_weight=1e-3, push_type='max'),
        decoder=codec,
    ),
)
