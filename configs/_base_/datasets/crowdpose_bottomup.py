# CrowdPose keypoints for bottom-up Associative Embedding: the COCO recipe of
# coco_bottomup.py (augmentation, resize, loaders) on CrowdPose's 14
# keypoints. Only what differs from it is stated here: the dataset (mmpose's
# CrowdPoseDataset, whose metainfo gives the flip pairs and sigmas), the
# grouping order, the files and the metric (CrowdPose's AP, with AP(E),
# AP(M), AP(H) by the images' crowd index).
#
# Data: data/crowdpose/images/*.jpg and mmpose's CrowdPose annotations,
# data/crowdpose/annotations/mmpose_crowdpose_{trainval,test}.json.
_base_ = ['./coco_bottomup.py']

dataset_type = 'CrowdPoseDataset'
data_root = 'data/crowdpose/'

# Grouping starts from the head and torso, then the limbs outwards, as the
# COCO order: head top, neck, shoulders, hips, elbows, wrists, knees, ankles.
codec = dict(
    _base_.codec,
    decode_keypoint_order=[12, 13, 0, 1, 6, 7, 2, 3, 4, 5, 8, 9, 10, 11],
)
# the COCO recipe, with this codec in GenerateTarget
train_pipeline = [
    dict(step, encoder=codec) if step == _base_.generate_target else step
    for step in _base_.train_pipeline
]

# what both loaders' datasets share
crowdpose_data = dict(
    type=dataset_type, data_root=data_root, data_prefix=dict(img='images/')
)
train_dataloader = dict(
    dataset=dict(
        crowdpose_data,
        ann_file='annotations/mmpose_crowdpose_trainval.json',
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    dataset=dict(
        crowdpose_data, ann_file='annotations/mmpose_crowdpose_test.json'
    )
)
test_dataloader = val_dataloader

# CrowdPose's protocol: its own OKS (no area), easy/medium/hard by crowd index
val_evaluator = dict(
    ann_file=data_root + 'annotations/mmpose_crowdpose_test.json',
    iou_type='keypoints_crowd',
    use_area=False,
    prefix='crowdpose',
)
test_evaluator = val_evaluator
