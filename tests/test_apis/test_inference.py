import json

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope

from aeplugin.apis import (
    apply_test_time_options,
    inference_bottomup,
    sample_keypoint_tags,
)
from aeplugin.testing.synthetic_maps import render_ae_maps

from .tiny_model import COCO, IMAGES, K, random_tiny_model, write_tiny_config


@pytest.fixture(scope='module')
def config_file(tmp_path_factory):
    return write_tiny_config(tmp_path_factory.mktemp('config'))


def _model(config_file, cfg_options=None, **options):
    cfg = Config.fromfile(config_file)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return random_tiny_model(apply_test_time_options(cfg, **options))


def _assert_same_people(a, b):
    a, b = a.pred_instances, b.pred_instances
    for field in ('keypoints', 'keypoint_scores', 'bbox_scores'):
        np.testing.assert_array_equal(a.get(field), b.get(field), field)
    np.testing.assert_array_equal(a.keypoint_tags, b.keypoint_tags)


@pytest.mark.parametrize('flip', [False, True])
def test_multiscale_with_scale_1_equals_single_scale_through_the_model(
    config_file, flip
):
    """Pipeline, data preprocessor, estimator, head and decoder of the
    multi-scale path, at the one scale 1, give the single-scale result."""
    single = _model(config_file, tta='flip' if flip else 'none')
    multi = _model(config_file, tta='multiscale', scales=[1.0], flip=flip)
    assert type(multi).__name__ == 'MultiScaleBottomupPoseEstimator'
    image = IMAGES[2]
    expected = inference_bottomup(single, image)
    result = inference_bottomup(multi, image)
    assert len(expected.pred_instances) > 0
    assert expected.pred_instances.keypoint_tags.shape[-1] == 1 + flip
    _assert_same_people(result, expected)


def test_flip_multiscale_on_real_images_concatenates_tags_at_one_size(
    config_file,
):
    # maps kept at the network's output size, so that the scale-1 pass
    # reaches the output unresampled
    options = {
        'model.test_cfg.output_heatmaps': True,
        'model.test_cfg.restore_heatmap_size': False,
        'model.head.decoder.heatmap_size': (32, 32),
    }
    model = _model(
        config_file, options, tta='multiscale', scales=[1, 0.5], flip=True
    )
    results = inference_bottomup(model, IMAGES)
    for image, result in zip(IMAGES, results):
        h, w = result.metainfo['img_shape']
        H, W = h // 4, w // 4
        # 2 scales x 2 flips x L=1 tag maps per keypoint and the averaged
        # heatmaps, all at the scale-1 heatmap size
        assert result.pred_fields.tags.shape == (4 * K, H, W)
        assert result.pred_fields.heatmaps.shape == (K, H, W)
        people = result.pred_instances
        assert people.keypoints.shape == (len(people), K, 2)
        assert people.keypoint_tags.shape == (len(people), K, 4)
        assert result.metainfo['ori_shape'] == cv2.imread(image).shape[:2]

    # the passes as the network sees them
    with DefaultScope.overwrite_default_scope('aeplugin'):
        pipeline = Compose(model.cfg.test_dataloader.dataset.pipeline)
    sample = pipeline(dict(img_path=IMAGES[0], **model.dataset_meta))
    with torch.no_grad():
        full, half = model.data_preprocessor(pseudo_collate([sample]))[
            'inputs'
        ]
        full_tags = model.head(model.extract_feat(full))[1][0]
        half_tags = model.head(model.extract_feat(half))[1][0]
    assert half.shape[-2:] == (full.shape[-2] // 2, full.shape[-1] // 2)
    tags = inference_bottomup(model, IMAGES[0]).pred_fields.tags
    # scale 1 unflipped comes first, as the network gave it; scale 0.5
    # unflipped third, upsampled so that its pixel j lands on pixel 2j
    torch.testing.assert_close(tags[:K], full_tags, rtol=0, atol=0)
    torch.testing.assert_close(
        tags[2 * K : 3 * K, ::2, ::2], half_tags, rtol=0, atol=1e-5
    )


class RenderedPeople(nn.Module):
    """A perfect network: the AE maps of known people, for any input size
    of a canvas covering the image region ``center``, ``region``."""

    def __init__(self, keypoints, visible, center, region):
        super().__init__()
        self.keypoints, self.visible = keypoints, visible
        self.center, self.region = center, region

    def forward(self, inputs):
        h, w = inputs.shape[-2:]
        canvas = (self.keypoints - self.center + self.region / 2) * (
            np.array([w, h]) / self.region
        )
        heatmaps, tags = render_ae_maps(
            canvas / 4, (w // 4, h // 4), self.visible
        )
        maps = torch.from_numpy(np.concatenate([heatmaps, tags]))
        return (maps[None].expand(len(inputs), -1, -1, -1),)


def test_rendered_people_are_found_through_the_multiscale_path(config_file):
    """Scales 1 and 0.5 of perfect maps through the whole path find every
    person where it is in the image, with its own tag at each keypoint."""
    image_id = 197388
    anns = [
        a
        for a in json.loads((COCO / 'test_coco.json').read_text())[
            'annotations'
        ]
        if a['image_id'] == image_id and a['num_keypoints'] > 0
    ]
    people = np.array([a['keypoints'] for a in anns], float).reshape(-1, K, 3)
    visible = people[..., 2] > 0
    # at the tiny model's 128 input, the half scale's heatmaps are too
    # coarse to tell these people apart
    size = (512, 512)
    model = _model(
        config_file,
        {
            'test_dataloader.dataset.pipeline.1.input_size': size,
            'model.head.decoder.input_size': size,
            'model.head.decoder.heatmap_size': size,
            'model.head.decoder.decode_max_instances': 30,
        },
        tta='multiscale',
        scales=[1, 0.5],
        flip=False,
    )
    image = str(COCO / f'{image_id:012d}.jpg')
    with DefaultScope.overwrite_default_scope('aeplugin'):
        pipeline = Compose(model.cfg.test_dataloader.dataset.pipeline)
    meta = pipeline(dict(img_path=image, **model.dataset_meta))[
        'data_samples'
    ].metainfo
    model.backbone = RenderedPeople(
        people[..., :2], visible, meta['input_center'], meta['input_scale']
    )

    found = inference_bottomup(model, image).pred_instances
    # the people come first; the rest are weak groups of the double peaks
    # that the image border leaves (single-scale decoding finds them too)
    num = len(people)
    assert len(found) >= num
    assert found.bbox_scores[num - 1] > 0.5 > 0.1 > found.bbox_scores[num]
    # a heatmap pixel is 4 input pixels, 3 image pixels here
    pixel = 4 * meta['input_scale'][0] / meta['input_size'][0]
    matches = []
    for n, (person, vis) in enumerate(zip(people[..., :2], visible)):
        errors = np.linalg.norm(
            found.keypoints[:num, vis] - person[vis], axis=-1
        )
        match = errors.mean(axis=1).argmin()
        matches.append(match)
        assert errors[match].mean() < 0.5 * pixel, (n, errors[match])
        # render_ae_maps tags person n with 2 (n + 1), at both scales
        tags = found.keypoint_tags[match, vis]
        assert np.mean(np.abs(tags - 2 * (n + 1)) < 1e-3) > 0.9, tags
    assert sorted(matches) == list(range(num))


def test_sample_keypoint_tags_reads_the_nearest_pixel_of_each_type():
    L, H, W = 2, 4, 5
    channel, y, x = np.meshgrid(
        np.arange(L * 3), np.arange(H), np.arange(W), indexing='ij'
    )
    maps = (1000 * channel + 10 * y + x).astype(np.float32)
    keypoints = np.array(
        [
            [[0.0, 0.0], [1.4, 2.6], [4.9, 3.2]],
            [[-3.0, 1.0], [2.5, 0.4], [9.0, 9.0]],
        ]
    )
    tags = sample_keypoint_tags(torch.from_numpy(maps), keypoints)
    # channel l*K + k; x then y rounded (half to even), clipped to the map
    expected = np.array(
        [
            [[0, 3000], [1000 + 31, 4000 + 31], [2000 + 34, 5000 + 34]],
            [[10, 3010], [1000 + 2, 4000 + 2], [2000 + 34, 5000 + 34]],
        ],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(tags, expected)
    with pytest.raises(ValueError, match='multiple of K=4'):
        sample_keypoint_tags(maps, np.zeros((1, 4, 2)))
    with pytest.raises(ValueError, match=r'\(N, K, 2\)'):
        sample_keypoint_tags(maps, np.zeros((3, 2)))


def test_paths_arrays_and_lists(config_file):
    model = _model(config_file, tta='none')
    by_path = inference_bottomup(model, IMAGES[1])
    by_array = inference_bottomup(model, cv2.imread(IMAGES[1]))
    _assert_same_people(by_array, by_path)
    assert not hasattr(by_path, 'pred_fields')
    assert 'output_heatmaps' not in model.test_cfg

    batch = inference_bottomup(model, [IMAGES[1], IMAGES[0], IMAGES[1]])
    assert isinstance(batch, list) and len(batch) == 3
    assert [r.metainfo['img_path'] for r in batch] == [
        IMAGES[1],
        IMAGES[0],
        IMAGES[1],
    ]
    _assert_same_people(batch[2], batch[0])
    # one image per batch is one call per image
    for image, result in zip(
        IMAGES[:2], inference_bottomup(model, IMAGES[:2], batch_size=1)
    ):
        _assert_same_people(result, inference_bottomup(model, image))

    with pytest.raises(ValueError, match='batch_size'):
        inference_bottomup(model, IMAGES, batch_size=0)
    # (grayscale (8, 8) arrays are taken: test_inference_inputs.py)
    with pytest.raises(ValueError, match=r'images\[0\].*\(H, W, 3\)'):
        inference_bottomup(model, np.zeros((8, 8, 2)))
    with pytest.raises(TypeError, match=r'images\[1\]'):
        inference_bottomup(model, [IMAGES[0], 3])


def test_keypoints_the_decoder_did_not_find_have_no_tag(config_file):
    model = _model(config_file, tta='none', refine=False)
    people = inference_bottomup(model, IMAGES[2]).pred_instances
    missing = people.keypoint_scores == 0
    assert missing.any() and (~missing).any()
    assert np.isnan(people.keypoint_tags[missing]).all()
    assert not np.isnan(people.keypoint_tags[~missing]).any()
