from .coco import COCO_ORDER, COCO_SIGMAS
from .coco_keypoints import coco_keypoint_ap, load_coco_people, to_detections
from .random_weights import randomize_weights_
from .reference_ae_loss import reference_ae_loss
from .synthetic_maps import MapNoise, render_ae_maps
from .transfer_counter import TransferCounts, count_transfers_and_syncs

__all__ = [
    'COCO_ORDER',
    'COCO_SIGMAS',
    'MapNoise',
    'TransferCounts',
    'coco_keypoint_ap',
    'count_transfers_and_syncs',
    'load_coco_people',
    'randomize_weights_',
    'reference_ae_loss',
    'render_ae_maps',
    'to_detections',
]
