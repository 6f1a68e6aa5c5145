# AE on your own keypoints: the main job's model and recipe on a COCO-format
# dataset of K=5 keypoints, the face keypoints of the 28 shipped COCO images
# (data/coco-mini-face, derived with
# tools/dataset_converters/coco_keypoint_subset.py). What changes with K is
# spelt out below; docs/custom_dataset.md walks through it.
_base_ = ['./ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py']

# names, flip pairs (`swap`), skeleton, loss weights and OKS sigmas
metainfo = dict(from_file='configs/_base_/datasets/coco_face.py')
num_keypoints = 5
tag_dim = 1

# The grouping order: keypoints are matched to people in this order (start
# with the most reliably detected). A permutation of 0..K-1.
codec = dict(_base_.codec, decode_keypoint_order=[0, 1, 2, 3, 4])

model = dict(
    # the network predicts K heatmaps and K x tag_dim tag maps
    backbone=dict(out_channels=num_keypoints * (1 + tag_dim)),
    head=dict(
        in_channels=num_keypoints * (1 + tag_dim),
        num_keypoints=num_keypoints,
        tag_dim=tag_dim,
        decoder=codec,
    ),
)

data_root = 'data/'
ann_file = 'coco-mini-face/annotations/face_keypoints_train2017.json'
train_pipeline = [
    step if step['type'] != 'GenerateTarget' else dict(step, encoder=codec)
    for step in _base_.train_pipeline
]
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file=ann_file,
        data_prefix=dict(img='coco-mini/train2017/'),
        metainfo=metainfo,
        pipeline=train_pipeline,
    )
)
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file=ann_file,
        data_prefix=dict(img='coco-mini/train2017/'),
        metainfo=metainfo,
    )
)
test_dataloader = val_dataloader
# CocoMetric reads the sigmas of the dataset's metainfo
val_evaluator = dict(ann_file=data_root + ann_file)
test_evaluator = val_evaluator
