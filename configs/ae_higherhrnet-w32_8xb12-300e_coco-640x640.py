# HigherHRNet-w32 at 640 (the official w32_640_adam_lr1e-3.yaml, COCO
# val2017 AP 68.5 without multi-scale test): the 512 model and recipe at a
# 640 input, targets at 160x160 and 320x320.
_base_ = ['./ae_higherhrnet-w32_8xb12-300e_coco-512x512.py']

codec = dict(_base_.codec, input_size=(640, 640), heatmap_size=(160, 160))
train_pipeline = [
    _base_.load_image,
    dict(_base_.random_affine, input_size=codec['input_size']),
    _base_.random_flip,
    dict(_base_.generate_target, encoder=codec),
    dict(_base_.crowd_mask, heatmap_keys=('heatmaps', 'heatmaps_2x')),
    dict(type='PackHigherBottomupPoseInputs'),
]
val_pipeline = [
    _base_.load_image,
    dict(_base_.resize, input_size=codec['input_size']),
    _base_.pack_val_inputs,
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader

model = dict(
    head=dict(decoder=dict(codec, higher_heatmap_size=codec['input_size']))
)
