"""COCO keypoint constants shared by the codec tests and benchmarks."""

import numpy as np

# COCO keypoint OKS sigmas, as in the COCO API and mmpose's coco metainfo.
COCO_SIGMAS = (
    np.array(
        [
            0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62,
            0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89,
        ]
    )
    / 10.0
)  # fmt: skip
# Grouping order of mmpose's COCO AE configs: head, shoulders, hips, limbs.
COCO_ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]
