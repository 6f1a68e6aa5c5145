import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmpose.models.pose_estimators import BottomupPoseEstimator
from mmpose.structures import PoseDataSample

from aeplugin.registry import MODELS

K = 17
FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
SIZE = 128


@pytest.fixture(autouse=True)
def aeplugin_scope():
    with DefaultScope.overwrite_default_scope('aeplugin'):
        yield


def _model(multiscale, flip=True, kind='MultiScaleBottomupPoseEstimator'):
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type=kind,
            data_preprocessor=dict(
                type='MultiScalePoseDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
            ),
            backbone=dict(
                type='HourglassAE',
                num_stacks=1,
                feat_channels=16,
                increase=8,
                stem_channels=(8, 16),
                out_channels=2 * K,
            ),
            head=dict(
                type='AssociativeEmbeddingHead',
                in_channels=2 * K,
                num_keypoints=K,
                final_layer=None,
                decoder=dict(
                    type='BottomupGrouping',
                    input_size=(SIZE, SIZE),
                    heatmap_size=(SIZE // 4, SIZE // 4),
                    decode_max_instances=3,
                    refine=False,
                ),
            ),
            test_cfg=dict(multiscale_test=multiscale, flip_test=flip),
        )
    )
    for module in model.modules():
        if module is not model and hasattr(module, 'reset_parameters'):
            module.reset_parameters()
    return model.eval()


def _batch(scales=(1.0, 0.5), aug_scales=None, num=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    meta = dict(
        img_shape=(SIZE, SIZE),
        input_size=(SIZE, SIZE),
        input_center=np.array([SIZE / 2, SIZE / 2]),
        input_scale=np.array([SIZE, SIZE], dtype=np.float32),
        flip_indices=FLIP,
    )
    if aug_scales is None:
        aug_scales = [s for s in scales if s != 1.0]
    if aug_scales is not False:
        meta['aug_scales'] = list(aug_scales)
    samples = []
    for _ in range(num):
        pyramid = [
            torch.randint(
                0,
                256,
                (3, int(SIZE * s), int(SIZE * s)),
                generator=g,
                dtype=torch.uint8,
            )
            for s in scales
        ]
        samples.append(
            dict(
                inputs=pyramid,
                data_samples=PoseDataSample(metainfo=dict(meta)),
            )
        )
    return pseudo_collate(samples)


def test_pyramid_reaches_the_head():
    model = _model(multiscale=True)
    with torch.no_grad():
        results = model.test_step(_batch())
    assert len(results) == 2
    people = results[0].pred_instances
    assert len(people) > 0
    assert people.keypoints.shape == (len(people), K, 2)

    # mmpose's estimator stacks the list of scales in forward()
    theirs = _model(multiscale=True, kind='mmpose.BottomupPoseEstimator')
    assert type(theirs) is BottomupPoseEstimator
    with pytest.raises(RuntimeError, match='stack expects each tensor'):
        theirs.test_step(_batch())


@pytest.mark.parametrize('flip', [False, True])
def test_single_scale_is_mmpose_estimator(flip):
    ours = _model(multiscale=False, flip=flip)
    theirs = _model(
        multiscale=False, flip=flip, kind='mmpose.BottomupPoseEstimator'
    )
    theirs.load_state_dict(ours.state_dict())
    batch = _batch(scales=(1.0,))
    # one scale per sample, as PackPoseInputs packs it
    single = dict(batch, inputs=list(batch['inputs'][0]))
    with torch.no_grad():
        expected = theirs.test_step(single)
        results = ours.test_step(single)
    for a, b in zip(results, expected):
        np.testing.assert_array_equal(
            a.pred_instances.keypoints, b.pred_instances.keypoints
        )
        np.testing.assert_array_equal(
            a.pred_instances.keypoint_scores, b.pred_instances.keypoint_scores
        )


def test_clear_errors():
    model = _model(multiscale=True)
    with pytest.raises(ValueError, match='aug_scales'):
        model.test_step(_batch(aug_scales=False))
    with pytest.raises(ValueError, match=r'3 inputs for the scales 1.0'):
        model.test_step(_batch(scales=(1.0, 0.5, 0.25), aug_scales=[0.5]))
    data = model.data_preprocessor(_batch())
    with pytest.raises(ValueError, match='list of input tensors'):
        model.predict(data['inputs'][0], data['data_samples'])
