# mmpose 0.x's AE schedule (hourglass_ae_coco_512x512: 8 GPUs x 6 images,
# COCO val AP 0.613 with flip): Adam 1.5e-3, 500-iteration linear warm-up,
# x0.1 at epochs 200 and 260, by epoch.
_base_ = ['../default_runtime.py']

# mmengine's epoch loop, whose data loader may say num_workers='auto'
# (configs/_base_/datasets/coco_bottomup.py); it replaces mmpose's
# dict(by_epoch=True), which cannot stand next to a loop type
train_cfg = dict(
    _delete_=True, type='AutoWorkersTrainLoop', max_epochs=300, val_interval=10
)

optim_wrapper = dict(optimizer=dict(type='Adam', lr=1.5e-3))
param_scheduler = [
    dict(
        type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False
    ),
    dict(
        type='MultiStepLR',
        begin=0,
        end=300,
        milestones=[200, 260],
        gamma=0.1,
        by_epoch=True,
    ),
]
# lr above is for 48 images per iteration; `--auto-scale-lr` rescales it
auto_scale_lr = dict(base_batch_size=48, enable=False)
