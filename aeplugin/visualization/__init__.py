from .tag_plot import plot_keypoint_tags
from .training_curves import load_scalars, plot_training_curves

__all__ = ['load_scalars', 'plot_keypoint_tags', 'plot_training_curves']
