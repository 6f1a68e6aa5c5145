"""The package as pip installs it (not editable) works without the
repository: every config's model, codec and pipelines build from it."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]

BUILD_EVERY_CONFIG = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import aeplugin
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope

    from aeplugin.registry import KEYPOINT_CODECS, MODELS

    target, configs = Path(sys.argv[1]), Path(sys.argv[2])
    assert Path(aeplugin.__file__).is_relative_to(target), aeplugin.__file__
    built = []
    for path in sorted(configs.glob('*.py')):
        cfg = Config.fromfile(path)
        with DefaultScope.overwrite_default_scope('aeplugin'):
            model = MODELS.build(cfg.model)
            codec = KEYPOINT_CODECS.build(cfg.codec)
            train = Compose(cfg.train_pipeline)
            val = Compose(cfg.val_pipeline)
        built.append(
            f'{path.name} {type(model).__name__} {type(codec).__name__} '
            f'{len(train.transforms)} {len(val.transforms)}'
        )
    print('\\n'.join(built))
    """
)


@pytest.mark.slow
def test_installed_package_builds_every_config(tmp_path):
    # from a copy, so that the build leaves nothing in the repository
    source = tmp_path / 'source'
    shutil.copytree(
        REPO / 'aeplugin',
        source / 'aeplugin',
        ignore=shutil.ignore_patterns('__pycache__'),
    )
    shutil.copy(REPO / 'setup.py', source)
    target = tmp_path / 'site'
    subprocess.run(
        [
            sys.executable, '-m', 'pip', 'install', '--no-deps',
            '--no-build-isolation', '--disable-pip-version-check', '-q',
            '--target', str(target), str(source),
        ],
        check=True,
    )  # fmt: skip
    outside = tmp_path / 'elsewhere'
    outside.mkdir()
    result = subprocess.run(
        [
            sys.executable, '-c', BUILD_EVERY_CONFIG, str(target),
            str(REPO / 'configs'),
        ],
        cwd=outside,
        env={'PYTHONPATH': str(target), 'PATH': '/usr/bin:/bin'},
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.split('\n')
    names = sorted(p.name for p in (REPO / 'configs').glob('*.py'))
    assert [line.split()[0] for line in lines if line] == names
    for line in lines:
        if line:
            codec = (
                'HigherBottomupGrouping'
                if line.startswith('ae_higherhrnet')
                else 'BottomupGrouping'
            )
            assert line.split()[1:3] == [
                'BottomupPoseEstimator',
                codec,
            ], line
