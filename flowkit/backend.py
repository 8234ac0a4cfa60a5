"""Array backends: NumPy on the CPU, CuPy on a CUDA GPU, chosen once per call.

CuPy is optional. Code written against the array module returned by :func:`get_xp` runs
unchanged on both.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

import numpy as np

from .errors import FlowError

__all__ = ["BACKENDS", "cuda_status", "get_xp", "resolve_backend", "to_numpy"]

BACKENDS = ("auto", "opencv", "numpy", "cupy")


@functools.cache
def _cupy() -> ModuleType | None:
    try:
        import cupy
    except ImportError:
        return None
    return cupy


def get_xp(*arrays: Any) -> ModuleType:
    """The array module (``numpy`` or ``cupy``) that owns ``arrays``."""
    cp = _cupy()
    return cp.get_array_module(*arrays) if cp is not None else np


def to_numpy(array: Any) -> np.ndarray:
    """A NumPy copy of a NumPy or CuPy array (no copy for NumPy)."""
    cp = _cupy()
    if cp is not None and isinstance(array, cp.ndarray):
        return cp.asnumpy(array)
    return np.asarray(array)


@functools.cache
def cuda_status() -> str | None:
    """``None`` when CuPy can run on a CUDA device, else the reason it cannot."""
    cp = _cupy()
    if cp is None:
        return "CuPy is not installed (pip install 'tsf[cuda12]' or 'tsf[cuda13]')"
    try:
        count = cp.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDARuntimeError, missing driver library, ...
        return f"no usable CUDA device ({type(e).__name__}: {e})"
    if count == 0:
        return "no CUDA device is visible"
    return None


def resolve_backend(backend: str) -> str:
    """Turn a backend name into a concrete one, checking it can run here.

    Args:
        backend: one of :data:`BACKENDS`; ``"auto"`` picks ``"cupy"`` when a CUDA device is
            usable, else ``"opencv"``.

    Returns:
        ``"opencv"``, ``"numpy"`` or ``"cupy"``.

    Raises:
        FlowError: unknown name, or ``"cupy"`` without a usable device.
    """
    if backend not in BACKENDS:
        raise FlowError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        return "cupy" if cuda_status() is None else "opencv"
    if backend == "cupy" and (reason := cuda_status()) is not None:
        raise FlowError(f"backend 'cupy' cannot run: {reason}")
    return backend
