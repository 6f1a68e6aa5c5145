from .metrics import MpiiMultiPersonMetric

__all__ = ['MpiiMultiPersonMetric']
