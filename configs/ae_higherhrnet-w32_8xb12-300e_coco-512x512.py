# HigherHRNet-w32 at 512 (the official w32_512_adam_lr1e-3.yaml; its paper
# reports COCO val2017 AP 67.1 without multi-scale test): targets at 1/4
# (heatmaps, tags) and 1/2 (heatmaps), sigma 2 at both; the official
# augmentation (rotation up to 30 degrees, scale 0.75-1.5 of the short side,
# shift up to 40 * scale / 200 = 0.2 of the crop, flip 0.5), which the COCO
# base already draws. Test: flip, the 1/4 maps upsampled to 1/2 and
# averaged with the 1/2 heatmaps (in the head), resized to the input
# (PROJECT2IMAGE), NMS kernel 5, refine; the long side padded to a
# multiple of 64 as the official test does.
#
# Schedule: 8 GPUs x 12 images (IMAGES_PER_GPU 12), Adam 1e-3 (no weight
# decay: the official code passes WD to SGD only), 300 epochs, x0.1 at 200
# and 260; the base's 500-iteration warm-up is kept (mmpose 0.x trained
# HigherHRNet with it). The official code keeps at most 30 people per
# image for the tag loss; here every labelled person counts.
# Other GPU counts: `--auto-scale-lr`.
_base_ = [
    './_base_/models/higherhrnet-w32.py',
    './_base_/datasets/coco_bottomup.py',
    './_base_/schedules/adam_step-300e.py',
]

codec = dict(_base_.codec, type='HigherBottomupGrouping')
train_pipeline = [
    _base_.load_image,
    _base_.random_affine,
    _base_.random_flip,
    dict(_base_.generate_target, encoder=codec),
    dict(_base_.crowd_mask, heatmap_keys=('heatmaps', 'heatmaps_2x')),
    dict(type='PackHigherBottomupPoseInputs'),
]
train_dataloader = dict(batch_size=12, dataset=dict(pipeline=train_pipeline))

default_hooks = dict(
    checkpoint=dict(save_best='coco/AP', rule='greater', interval=50)
)

model = dict(
    # the aggregated 1/2 maps are resized to the input size before grouping
    head=dict(decoder=dict(codec, higher_heatmap_size=codec['input_size']))
)

optim_wrapper = dict(optimizer=dict(lr=1e-3))
auto_scale_lr = dict(base_batch_size=96)
