from .mpii_multi_person_metric import (
    MpiiMultiPersonMetric,
    evaluate_mpii_prediction_file,
    format_mpii_table,
    head_size_notes,
    load_mpii_predictions,
    unpredicted_images_note,
)
from .mpii_multi_person_protocol import (
    assign_predictions,
    evaluate_mpii_multi_person,
    head_sizes,
    voc_ap,
)

__all__ = [
    'MpiiMultiPersonMetric',
    'assign_predictions',
    'evaluate_mpii_multi_person',
    'evaluate_mpii_prediction_file',
    'format_mpii_table',
    'head_size_notes',
    'head_sizes',
    'load_mpii_predictions',
    'unpredicted_images_note',
    'voc_ap',
]
