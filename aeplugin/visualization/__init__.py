from .ae_pose_local_visualizer import (
    AEPoseLocalVisualizer,
    person_tag_colors,
)
from .tag_plot import plot_keypoint_tags, project_2d
from .training_curves import load_scalars, plot_training_curves

__all__ = [
    'AEPoseLocalVisualizer',
    'load_scalars',
    'person_tag_colors',
    'plot_keypoint_tags',
    'plot_training_curves',
    'project_2d',
]
