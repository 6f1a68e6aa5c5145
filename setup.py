from setuptools import find_packages, setup

setup(
    name='aeplugin',
    version='0.1.0',
    description='Associative Embedding for MMPose 1.x: trainable, fast, '
    'multi-scale bottom-up pose estimation',
    packages=find_packages(include=['aeplugin', 'aeplugin.*']),
    python_requires='>=3.9',
)
