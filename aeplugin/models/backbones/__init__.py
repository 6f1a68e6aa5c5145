from .hourglass_ae import HourglassAE
from .hourglass_ae_convert import (
    convert_mmpose_hourglass_ae_checkpoint,
    convert_mmpose_hourglass_ae_state_dict,
)

__all__ = [
    'HourglassAE',
    'convert_mmpose_hourglass_ae_checkpoint',
    'convert_mmpose_hourglass_ae_state_dict',
]
