import pytest
import torch.distributed as torch_dist


@pytest.fixture
def one_process_group(tmp_path):
    """A gloo process group of this process alone, destroyed after the
    test."""
    torch_dist.init_process_group(
        'gloo',
        init_method=f'file://{tmp_path / "store"}',
        rank=0,
        world_size=1,
    )
    yield
    # a failed test must not leave the group to the tests after it
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()
