"""Middlebury ``.flo`` files: float32 magic 202021.25, int32 width and height, then u, v
interleaved, row-major."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import FloFormatError, FlowError
from .atomic import atomic_write

__all__ = ["read_flo", "write_flo"]

_MAGIC = np.float32(202021.25)
_MAX_SIDE = 1 << 16  # guards against allocating garbage sizes from a corrupt header


def read_flo(path: str | os.PathLike) -> np.ndarray:
    """Read a ``.flo`` file into an ``(H, W, 2)`` float32 array.

    Raises:
        FileNotFoundError: no such file.
        FloFormatError: wrong magic number, size fields, or length.
    """
    name = os.fspath(path)
    data = Path(name).read_bytes()
    if len(data) < 12:
        raise FloFormatError(name, f"{len(data)} bytes, shorter than the 12-byte header")
    magic = np.frombuffer(data, np.float32, 1, 0)[0]
    if magic != _MAGIC:
        raise FloFormatError(name, f"magic number {magic!r}, expected 202021.25")
    width, height = (int(v) for v in np.frombuffer(data, "<i4", 2, 4))
    if not (0 < width <= _MAX_SIDE and 0 < height <= _MAX_SIDE):
        raise FloFormatError(name, f"implausible size {width}x{height}")
    expected = 12 + 8 * width * height
    if len(data) != expected:
        raise FloFormatError(name, f"{len(data)} bytes, expected {expected} for {width}x{height}")
    return np.frombuffer(data, "<f4", 2 * width * height, 12).reshape(height, width, 2).astype(np.float32)


def write_flo(path: str | os.PathLike, flow: np.ndarray) -> None:
    """Write an ``(H, W, 2)`` flow as a ``.flo`` file, atomically (temporary file, then rename).

    Raises:
        FlowError: ``flow`` is not ``(H, W, 2)``.
    """
    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise FlowError(f"a .flo file holds one (H, W, 2) flow, got shape {flow.shape}")
    height, width = flow.shape[:2]
    header = np.array([_MAGIC], "<f4").tobytes() + np.array([width, height], "<i4").tobytes()
    payload = header + np.ascontiguousarray(flow, "<f4").tobytes()
    atomic_write(path, payload)
