"""The fused kernels compiled for a device architecture by NVRTC, on a machine without a GPU.

NVRTC is the compiler CuPy runs; asked for a real architecture (``sm_90``) it also runs ptxas, so
CUDA errors and resources over a device's limits (static shared memory) fail here. The library
comes from the ``nvidia-cuda-nvrtc-cu12`` wheel of the test dependencies.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
from pathlib import Path


@functools.cache
def nvrtc() -> ctypes.CDLL | None:
    """NVRTC from the ``nvidia-cuda-nvrtc-cu12`` wheel, if installed."""
    try:
        spec = importlib.util.find_spec("nvidia.cuda_nvrtc")
    except ModuleNotFoundError:
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        for lib in sorted((Path(folder) / "lib").glob("libnvrtc.so*")):
            return ctypes.CDLL(str(lib))
    return None


def compile_for(source: str, arch: str) -> tuple[bool, str]:
    """Whether ``source`` compiles for ``arch`` with CuPy's options for our kernels, and the log."""
    lib = nvrtc()
    assert lib is not None
    program = ctypes.c_void_p()
    if lib.nvrtcCreateProgram(ctypes.byref(program), source.encode(), b"tvl1.cu", 0, None, None):
        raise RuntimeError("nvrtcCreateProgram failed")
    options = [b"--fmad=false", f"--gpu-architecture={arch}".encode()]
    try:
        status = lib.nvrtcCompileProgram(program, len(options), (ctypes.c_char_p * len(options))(*options))
        size = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(program, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetProgramLog(program, log)
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(program))
    return status == 0, log.value.decode(errors="replace")
