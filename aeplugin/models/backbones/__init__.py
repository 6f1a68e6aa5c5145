from .hourglass_ae import HourglassAE

__all__ = ['HourglassAE']
