import pytest
from mmengine.registry import DefaultScope


@pytest.fixture(autouse=True)
def aeplugin_scope():
    """Build every config of these tests in the plugin's registry scope."""
    with DefaultScope.overwrite_default_scope('aeplugin'):
        yield
