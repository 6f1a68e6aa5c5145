"""Associative Embedding for MMPose 1.x.

Importing the package only declares the ``aeplugin`` registry scope and lets
torch's safe loader read runner checkpoints; components are imported lazily
by the registry when a config first builds one.
"""

from . import registry
from .engine.checkpoint import allow_runner_checkpoints

__version__ = '0.1.0'

allow_runner_checkpoints()

__all__ = ['registry', '__version__']
