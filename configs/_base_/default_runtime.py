# mmpose's runtime (hooks, logger, visualizer, env), in the aeplugin scope.
_base_ = 'mmpose::_base_/default_runtime.py'

default_scope = 'aeplugin'
custom_imports = dict(imports=['aeplugin'], allow_failed_imports=False)

# mmengine's own DDP wrapper, on a model made channels-last on a GPU before
# DDP lays out its gradient buckets (ChannelsLastDistributedDataParallel),
# minus the device_ids=[LOCAL_RANK] its Runner adds: DistributedDataParallel
# rejects device ids for CPU modules (gloo), and on GPUs the data
# preprocessor already moves inputs to the model's device. One code path for
# CPU and GPU runs. Named by its import path: the Runner looks the type up
# in mmengine's root registry, which searches neither the default scope nor
# a scope below mmpose's, and then imports the path.
model_wrapper_cfg = dict(
    type='aeplugin.engine.ChannelsLastDistributedDataParallel',
    device_ids=None,
    broadcast_buffers=False,
    find_unused_parameters=False,
)

# cuDNN times the convolution algorithms of each new input shape once and
# keeps the fastest: the training inputs have one fixed size, so every step
# after the first runs the fastest kernels (not deterministic: the
# deterministic main-job config turns it off). No effect on a CPU.
env_cfg = dict(cudnn_benchmark=True)

# Checkpoints written to a temporary file and renamed (a kill never leaves a
# truncated one for --resume), every epoch seeded from (seed, epoch) (a
# resumed run replays the epoch it redoes), loaded checkpoints checked
# against the model (mismatched keys stop the run instead of a warning), a
# model on a GPU made channels-last (without DDP: with it, the wrapper above
# does), and a training log line every 50
# iterations of the run (not of the epoch) with an ETA from the recent speed.
# mmpose's base marks its hooks `_scope_='mmpose'`: the entries merged into
# mmpose's need our scope back.
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook', _scope_='aeplugin'),
    logger=dict(type='ProgressLoggerHook', _scope_='aeplugin'),
    epoch_seed=dict(type='EpochSeedHook'),
    checkpoint_match=dict(type='CheckpointMatchHook'),
    channels_last=dict(type='ChannelsLastHook'),
    # pictures of `tools/test.py --show-dir` (ours and mmpose's)
    visualization=dict(type='BottomupVisualizationHook', _scope_='aeplugin'),
)

# On a GPU: bfloat16 autocast without loss scaling, and a channels-last
# model (the hook above) reading channels-last inputs (the models' data
# preprocessor); on a CPU both are off, so the same config trains in fp32.
# `tools/train.py --fp32` turns both off everywhere.
optim_wrapper = dict(type='BF16OptimWrapper')

# Pictures of predictions (`tools/test.py --show-dir`, mmpose's
# PoseVisualizationHook, MMPoseInferencer) with mmpose's visualizer, whose
# keypoints fail to draw under numpy 2 (ours draws them; color_by_tag=True
# colours people by their tags). `_scope_` finds it also from a builder in
# mmpose's scope (MMPoseInferencer).
visualizer = dict(type='AEPoseLocalVisualizer', _scope_='aeplugin')
