# MPII multi-person keypoints for bottom-up Associative Embedding: the COCO
# recipe of coco_bottomup.py (augmentation, resize, loaders) on MPII's 16
# joints. Only what differs from it is stated here: the dataset, the
# grouping order, the files and the metric (MPII's multi-person AP).
#
# Data: data/mpii/images/*.jpg and annotations written from the official
# mpii_human_pose_v1_u12_1.mat by tools/dataset_converters/mpii_mat_to_json.py
# (every person of an image, with its head box), e.g. with mmpose's
# validation split held out:
#   python tools/dataset_converters/mpii_mat_to_json.py MAT \
#       data/mpii/annotations/mpii_multi_train.json \
#       --skip-images data/mpii/annotations/mpii_val.json
#   python tools/dataset_converters/mpii_mat_to_json.py MAT \
#       data/mpii/annotations/mpii_multi_val.json \
#       --only-images data/mpii/annotations/mpii_val.json
# mmpose's own mpii_train.json / mpii_val.json load as well, but they list
# only some people of each image and no head boxes.
_base_ = ['./coco_bottomup.py']

dataset_type = 'MpiiMultiPersonDataset'
data_root = 'data/mpii/'

# Grouping starts from the head and torso, then the limbs outwards, as the
# COCO order: head top, upper neck, thorax, pelvis, shoulders, hips, elbows,
# wrists, knees, ankles.
# fmt: off
codec = dict(
    _base_.codec,
    decode_keypoint_order=[9, 8, 7, 6, 12, 13, 2, 3, 11, 14, 10, 15, 1, 4, 0,
                           5],
)
# fmt: on
# the COCO recipe, with this codec in GenerateTarget
train_pipeline = [
    _base_.load_image,
    _base_.random_affine,
    _base_.random_flip,
    dict(_base_.generate_target, encoder=codec),
    _base_.crowd_mask,
    _base_.pack_train_inputs,
]

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/mpii_multi_train.json',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/mpii_multi_val.json',
        data_prefix=dict(img='images/'),
    ),
)
test_dataloader = val_dataloader

# ground truth from each sample's raw_ann_info (kept by the val pipeline)
val_evaluator = dict(_delete_=True, type='MpiiMultiPersonMetric')
test_evaluator = val_evaluator
