# COCO person keypoints for bottom-up Associative Embedding: codec,
# pipelines, data loaders and evaluators. Needs default_scope='aeplugin'
# (plain names fall back to mmpose's transforms, dataset and metric).
#
# A model config overrides paths by merging, e.g.
#   train_dataloader = dict(dataset=dict(data_root='data/coco-mini/'))
# Sizes are resolved when this file loads, so a config that changes the
# input size (or any step) restates the codec and lists each pipeline it
# changes step by step, from the named steps below, then points the loaders
# at it (as configs/ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py does):
#   codec = dict(_base_.codec, input_size=(640, 640), heatmap_size=(160, 160))
#   train_pipeline = [
#       _base_.load_image,
#       dict(_base_.random_affine, input_size=codec['input_size']),
#       _base_.random_flip,
#       dict(_base_.generate_target, encoder=codec),
#       _base_.crowd_mask,
#       _base_.pack_train_inputs,
#   ]
#   train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

dataset_type = 'CocoDataset'
data_mode = 'bottomup'
data_root = 'data/coco/'

# The grouping order of the official code: head and torso, then the limbs.
# No decode_center_shift (mmpose's AE config has 0.5): it offset the
# half-pixel that F.interpolate adds, which the head no longer adds.
# fmt: off
codec = dict(
    type='BottomupGrouping',
    input_size=(512, 512),
    heatmap_size=(128, 128),
    sigma=2,
    decode_keypoint_order=[0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14,
                           15, 16],
    decode_topk=30,
    decode_max_instances=30,
)
# fmt: on

load_image = dict(type='LoadImage')
# Uniform draws as in the official code and mmpose 0.x: rotation +-30
# degrees, a crop of 0.75-1.5 times the short side (mmpose 0.x's range),
# shift up to 0.2 of the image. Keypoints pushed off the input lose their
# label, so no partial Gaussian sits at the border (as in the official code).
random_affine = dict(
    type='BottomupRandomAffine',
    input_size=codec['input_size'],
    shift_factor=0.2,
    scale_factor=(0.75, 1.5),
    scale_type='short',
    rotate_factor=30.0,
    distribution='uniform',
    clip_border=True,
)
# The flip mirrors the keypoints before they are encoded (see
# BottomupRandomFlip for why not the targets).
random_flip = dict(type='BottomupRandomFlip', prob=0.5)
generate_target = dict(type='GenerateTarget', encoder=codec)
crowd_mask = dict(type='BottomupCrowdMask')
# Training needs no metainfo but the file, named in bottomup_collate's errors
# (mmpose's default keeps the raw annotations: polygons, crowd counts).
pack_train_inputs = dict(
    type='PackBottomupPoseInputs', meta_keys=('img_path',)
)
train_pipeline = [
    load_image,
    random_affine,
    random_flip,
    generate_target,
    crowd_mask,
    pack_train_inputs,
]

# The short side is resized to the input size and the long side padded to a
# multiple of 64 (the hourglass needs 64; HRNet 32); predictions go back to
# the original image through input_center / input_scale.
resize = dict(
    type='BottomupResize',
    input_size=codec['input_size'],
    size_factor=64,
    resize_mode='expand',
)
pack_val_inputs = dict(
    type='PackPoseInputs',
    meta_keys=(
        'id',
        'img_id',
        'img_path',
        'crowd_index',
        'ori_shape',
        'img_shape',
        'input_size',
        'input_center',
        'input_scale',
        'flip',
        'flip_direction',
        'flip_indices',
        'raw_ann_info',
        'skeleton_links',
    ),
)
val_pipeline = [load_image, resize, pack_val_inputs]

# The batch's targets are stacked into a few pinned tensors, which the data
# preprocessor moves with one non-blocking copy each. Workers per GPU:
# 'auto' is min(8, CPU cores // GPUs on the node), at least 1, resolved at
# run time by the training loop (AutoWorkersTrainLoop); override it with a
# number, e.g. --cfg-options train_dataloader.num_workers=4 (0 also drops
# persistent_workers and prefetch_factor). Each worker keeps 4 batches
# ready, so that a slow augmentation does not stall a step.
train_dataloader = dict(
    batch_size=24,
    num_workers='auto',
    persistent_workers=True,
    prefetch_factor=4,
    pin_memory=True,
    collate_fn=dict(type='aeplugin.bottomup_collate'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    # a batch holds images of one input shape (padding would change every
    # output of a network that sees the whole image): any batch_size gives
    # the predictions of batch 1
    batch_sampler=dict(type='ShapeGroupedBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/person_keypoints_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=val_pipeline,
    ),
)
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/person_keypoints_val2017.json',
    nms_mode='none',
    score_mode='bbox',
)
test_evaluator = val_evaluator
