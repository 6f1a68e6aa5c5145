"""With this folder first on ``PYTHONPATH``, every Python process (the
workers that torchrun or srun start) installs the faults of
``fault_injection.py`` that its environment asks for."""

import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    'fault_injection',
    os.path.join(os.path.dirname(__file__), '..', 'fault_injection.py'),
)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
_module.install()
