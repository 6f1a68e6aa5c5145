from .ae_loss import AELoss

__all__ = ['AELoss']
