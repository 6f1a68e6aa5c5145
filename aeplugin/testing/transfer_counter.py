"""Count the host-to-device copies and host synchronisations of some code,
on any device (the tests run it on the CPU)."""

import collections
import contextlib
from dataclasses import dataclass, field
from typing import Counter, Iterator, Union

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten

# Ops whose result the host must wait for on a GPU: a value read back
# (item, int(), bool()), or an output whose size depends on the data.
_SYNC_OPS = {
    aten._local_scalar_dense.default,
    aten.is_nonzero.default,
    aten.equal.default,
    aten.nonzero.default,
    aten.masked_select.default,
    aten.bincount.default,
    aten.repeat_interleave.Tensor,
    aten._unique2.default,
    aten.unique_consecutive.default,
    aten.unique_dim.default,
}
# Indexing with a boolean mask runs a nonzero inside the op.
_MASK_INDEX_OPS = {aten.index.Tensor, aten.index_put.default}
_MASK_INDEX_OPS.add(aten.index_put_.default)


@dataclass
class TransferCounts:
    """What :func:`count_transfers_and_syncs` saw.

    Attributes:
        host_to_device (int): Tensors of the host sent to a device (``.to``
            or ``.cuda`` with a device, from a CPU tensor)
        syncs (int): Host synchronisations: values read back to Python
            (``.item()``, ``.tolist()``, ``.numpy()``, ``int()``, ``bool()``,
            ``.cpu()``) and ops whose output size depends on the data
        sync_ops (Counter): ``syncs`` by op or method name
    """

    host_to_device: int = 0
    syncs: int = 0
    sync_ops: Counter = field(default_factory=collections.Counter)

    def add_sync(self, name: str) -> None:
        self.syncs += 1
        self.sync_ops[name] += 1


class _SyncOpCounter(TorchDispatchMode):
    def __init__(self, counts: TransferCounts, emulated: bool):
        super().__init__()
        self.counts = counts
        self.emulated = emulated

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        on_host = all(
            a.device.type == 'cpu' for a in args if isinstance(a, torch.Tensor)
        )
        if on_host and not self.emulated:
            pass  # host tensors (an optimizer's step counts) never wait
        elif func in _SYNC_OPS:
            self.counts.add_sync(str(func))
        elif func in _MASK_INDEX_OPS:
            indices = args[1] if len(args) > 1 else kwargs.get('indices')
            if any(
                isinstance(i, torch.Tensor) and i.dtype == torch.bool
                for i in indices or ()
            ):
                self.counts.add_sync(f'{func} with a boolean mask')
        return func(*args, **kwargs)


def _has_device(args, kwargs) -> bool:
    if kwargs.get('device') is not None:
        return True
    return any(
        isinstance(a, (torch.device, str, int)) and not isinstance(a, bool)
        for a in args
    )


@contextlib.contextmanager
def count_transfers_and_syncs(
    device: Union[str, torch.device] = 'cpu',
) -> Iterator[TransferCounts]:
    """Count, in the ``with`` block, what would cost a host-to-device copy
    or a host synchronisation on a GPU.

    On the CPU (``device='cpu'``) nothing is copied and nothing waits, so
    the counts are of the requests: a CPU tensor sent ``.to(device)``
    counts as one copy whatever the device (code that moves data only
    where it is elsewhere, as ``if t.device != device``, is not counted),
    and every read-back or data-dependent op counts as one synchronisation,
    of any tensor. On a GPU the same calls are the real copies, and only
    ops on device tensors wait: reading a host tensor (as Adam's step
    counter) is not counted. Tensors created on a device from Python
    numbers (``torch.tensor(list, device=...)``) are copies too but are
    not seen here.

    Args:
        device (str | torch.device): The device the code runs on

    Yields:
        TransferCounts: filled in while the block runs
    """
    emulated = torch.device(device).type == 'cpu'
    counts = TransferCounts()
    tensor = torch.Tensor
    originals = {
        name: getattr(tensor, name)
        for name in ('to', 'cuda', 'tolist', 'numpy', 'cpu')
    }

    def to(self, *args, **kwargs):
        if self.device.type == 'cpu' and _has_device(args, kwargs):
            counts.host_to_device += 1
        return originals['to'](self, *args, **kwargs)

    def cuda(self, *args, **kwargs):
        if self.device.type == 'cpu':
            counts.host_to_device += 1
        return originals['cuda'](self, *args, **kwargs)

    def read_back(name):
        def method(self, *args, **kwargs):
            if emulated or self.device.type != 'cpu':
                counts.add_sync(f'Tensor.{name}')
            return originals[name](self, *args, **kwargs)

        return method

    try:
        tensor.to, tensor.cuda = to, cuda
        for name in ('tolist', 'numpy', 'cpu'):
            setattr(tensor, name, read_back(name))
        with _SyncOpCounter(counts, emulated):
            yield counts
    finally:
        for name, method in originals.items():
            setattr(tensor, name, method)
