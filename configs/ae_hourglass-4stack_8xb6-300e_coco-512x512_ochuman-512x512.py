# For evaluation only: a COCO-trained model of
# ae_hourglass-4stack_8xb6-300e_coco-512x512.py tested on OCHuman (heavily
# occluded people, 17 COCO keypoints). OCHuman has no training split, so
# the training part is the COCO config's, unchanged; only the test and
# validation loaders and the metric point at OCHuman (the name: the COCO
# model's, then the data it is tested on):
#   python tools/test.py \
#       configs/ae_hourglass-4stack_8xb6-300e_coco-512x512_ochuman-512x512.py \
#       COCO_CHECKPOINT
# Data: data/ochuman/images/*.jpg and OCHuman's COCO-format annotations,
# data/ochuman/annotations/ochuman_coco_format_{val,test}_range_0.00_1.00.json
# (test by default; the val file with --cfg-options).
_base_ = ['./ae_hourglass-4stack_8xb6-300e_coco-512x512.py']

ochuman_root = 'data/ochuman/'
ochuman_ann = 'annotations/ochuman_coco_format_test_range_0.00_1.00.json'

val_dataloader = dict(
    dataset=dict(
        type='OCHumanDataset',
        data_root=ochuman_root,
        ann_file=ochuman_ann,
        data_prefix=dict(img='images/'),
    ),
)
test_dataloader = val_dataloader

val_evaluator = dict(ann_file=ochuman_root + ochuman_ann, prefix='ochuman')
test_evaluator = val_evaluator
# the COCO config keeps its best checkpoint by coco/AP, which this metric
# does not report
default_hooks = dict(checkpoint=dict(save_best=None))
