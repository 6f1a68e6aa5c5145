from .fill_search import fill_missing_keypoints, search_fill_pixels
from .gaussian_heatmap import generate_gaussian_heatmaps
from .keypoint_indices import encode_keypoint_indices
from .peaks import max_filter, top_candidates
from .refinement import (
    dark_udp_offsets,
    gather_neighbours,
    locate_keypoints,
    log_blur,
    quarter_offsets,
)
from .strips import chunk_length

__all__ = [
    'chunk_length',
    'dark_udp_offsets',
    'encode_keypoint_indices',
    'fill_missing_keypoints',
    'gather_neighbours',
    'generate_gaussian_heatmaps',
    'locate_keypoints',
    'log_blur',
    'max_filter',
    'quarter_offsets',
    'search_fill_pixels',
    'top_candidates',
]
