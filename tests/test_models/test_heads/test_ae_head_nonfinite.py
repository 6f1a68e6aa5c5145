"""NaN predictions given to the decoder and to COCO evaluation."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.evaluation.metrics import CocoMetric

from aeplugin.models.heads import AssociativeEmbeddingHead

ANN_FILE = Path(__file__).parents[2] / 'data' / 'coco' / 'test_coco.json'


def _head():
    with DefaultScope.overwrite_default_scope('aeplugin'):
        return AssociativeEmbeddingHead(
            in_channels=34,
            num_keypoints=17,
            final_layer=None,
            decoder=dict(
                type='BottomupGrouping',
                input_size=(64, 64),
                heatmap_size=(16, 16),
                sigma=2,
            ),
        )


@pytest.mark.parametrize(
    'maps, value, match',
    [
        (0, float('nan'), r'heatmaps \(3, 17, 16, 16\) hold NaN'),
        (1, float('inf'), r'tags \(3, 17, 16, 16\) hold NaN or infinite'),
    ],
)
def test_decode_names_the_maps_and_the_images(maps, value, match):
    head = _head()
    outputs = [torch.rand(3, 17, 16, 16), torch.rand(3, 17, 16, 16)]
    assert len(head.decode(tuple(outputs))) == 3
    outputs[maps][1, 4, 2, 2] = value
    outputs[maps][2, 0, 0, 0] = value
    with pytest.raises(ValueError, match=match + r'.* in images \[1, 2\]'):
        head.decode(tuple(outputs))


def test_codec_refuses_nan_heatmaps_itself():
    head = _head()
    heatmaps = torch.rand(1, 17, 16, 16)
    heatmaps[0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError):
        head.decoder.batch_decode(heatmaps, torch.rand(1, 17, 16, 16))


def _coco_ap(spoil):
    """mmpose's CocoMetric on the test file's people as predictions."""
    annotations = json.loads(ANN_FILE.read_text())
    metric = CocoMetric(ann_file=str(ANN_FILE), nms_mode='none')
    metric.dataset_meta = parse_pose_metainfo(
        dict(from_file='configs/_base_/datasets/coco.py')
    )
    for image in annotations['images']:
        people = [
            a['keypoints']
            for a in annotations['annotations']
            if a['image_id'] == image['id']
        ]
        keypoints = np.array(people, dtype=np.float64).reshape(-1, 17, 3)
        metric.process(
            [],
            [
                dict(
                    id=image['id'],
                    img_id=image['id'],
                    gt_instances={},
                    pred_instances=dict(
                        keypoints=spoil(keypoints[..., :2]),
                        keypoint_scores=np.ones(keypoints.shape[:2]),
                        bbox_scores=np.ones(len(keypoints)),
                    ),
                )
            ],
        )
    return metric.compute_metrics(metric.results)['AP']


def test_coco_metric_scores_nan_keypoints_as_matches():
    """Why the head checks: COCO's OKS of NaN keypoints is NaN, and its
    matching (``if iou < threshold: continue``) takes NaN for a match, so
    all-NaN predictions get the AP of the ground truth itself, silently."""
    ground_truth = _coco_ap(lambda k: k)
    assert ground_truth > 0.3
    assert _coco_ap(lambda k: np.full_like(k, np.nan)) == ground_truth
    assert _coco_ap(lambda k: np.full_like(k, 1e4)) == 0.0
