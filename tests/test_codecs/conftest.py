import pytest
import torch


@pytest.fixture(scope='module', autouse=True)
def single_thread():
    """Run on one torch thread: decoding works on small maps, where a second
    thread mostly waits, and on a busy machine two threads can slow torch
    ops tenfold."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
