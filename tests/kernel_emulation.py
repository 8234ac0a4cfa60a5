"""The fused TV-L1 kernels built for the CPU: one C++ call per CUDA thread, block after block.

``flowkit/cuda/tvl1.cu`` is compiled by the system C++ compiler with a prelude that maps
``threadIdx``/``blockIdx`` to globals and replaces the block reduction (the only code that needs
a whole block at once) by a sequential sum. Each kernel gets a launcher that loops over the grid,
so :class:`flowkit.tvl1_fused.FusedTVL1` runs here on NumPy arrays with the exact kernel code
that runs on the GPU.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from flowkit.tvl1_fused import kernel_source

PRELUDE = """
#include <math.h>
#include <stddef.h>
#define TSF_EMULATION 1
#define __global__
#define __device__
#define __forceinline__ inline
struct tsf_dim3 { unsigned x, y, z; };
static tsf_dim3 threadIdx, blockIdx, blockDim, gridDim;
static inline void tsf_block_sum(unsigned long long* dst, float v);
static inline void __threadfence() {}
template <typename T> static inline T atomicAdd(T* p, T v) { T old = *p; *p += v; return old; }
// the threads of a block run in order: the last one runs once the block's sum is complete
#define TSF_BLOCK_LEADER (threadIdx.x + blockDim.x * threadIdx.y == blockDim.x * blockDim.y - 1)
"""

# after the source's constants: each thread adds its own term, in the device's fixed point
REDUCTION = """
static inline void tsf_block_sum(unsigned long long* dst, float v) {
    *dst += (unsigned long long)(fminf(v, TSF_ERR_MAX) * TSF_ERR_SCALE);
}
"""

_SIGNATURE = re.compile(r'extern "C" __global__ void (\w+)\(([^)]*)\)')
_CTYPES = {"int": ctypes.c_int, "float": ctypes.c_float, "double": ctypes.c_double}


def compiler() -> str | None:
    """The C++ compiler found on PATH, if any."""
    return shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")


def _launcher_source(name: str, params: str) -> str:
    names = [p.split()[-1].lstrip("*") for p in params.split(",")]
    return f"""
extern "C" void emu_{name}(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, {params}) {{
    gridDim = {{gx, gy, gz}};
    blockDim = {{bx, by, 1}};
    for (unsigned z = 0; z < gz; ++z) for (unsigned y = 0; y < gy; ++y) for (unsigned x = 0; x < gx; ++x) {{
        blockIdx = {{x, y, z}};
        for (unsigned ty = 0; ty < by; ++ty) for (unsigned tx = 0; tx < bx; ++tx) {{
            threadIdx = {{tx, ty, 0}};
            {name}({", ".join(names)});
        }}
    }}
}}
"""


class EmulatedKernels:
    """A :class:`flowkit.tvl1_fused.Launcher` over NumPy arrays, built in ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        source = kernel_source()
        kernels = _SIGNATURE.findall(source)
        code = PRELUDE + source + REDUCTION + "".join(_launcher_source(n, p) for n, p in kernels)
        cpp, lib = workdir / "tvl1_emulated.cpp", workdir / "tvl1_emulated.so"
        cpp.write_text(code)
        # no FMA contraction, as the device build (--fmad=false)
        subprocess.run([compiler(), "-O2", "-shared", "-fPIC", "-ffp-contract=off", "-o", str(lib), str(cpp)],
                       check=True, capture_output=True, text=True)
        self._lib = ctypes.CDLL(str(lib))
        self._types = {n: [self._ctype(p) for p in params.split(",")] for n, params in kernels}

    @staticmethod
    def _ctype(param: str) -> type | None:
        return None if "*" in param else _CTYPES[param.split()[-2]]

    def __call__(self, name: str, grid: tuple[int, int, int], block: tuple[int, int], args: tuple) -> None:
        converted = []
        for kind, arg in zip(self._types[name], args, strict=True):
            if kind is None:
                assert isinstance(arg, np.ndarray) and arg.flags.c_contiguous, name
                converted.append(ctypes.c_void_p(arg.ctypes.data))
            else:
                converted.append(kind(arg))
        getattr(self._lib, f"emu_{name}")(*(ctypes.c_uint(int(g)) for g in (*grid, *block)), *converted)


class CudaOnNumpy:
    """A :class:`flowkit.tvl1_fused.Launcher` that runs the kernels on the GPU over NumPy arrays
    (copied there and back), so one test body checks the device build and the CPU build."""

    def __call__(self, name: str, grid: tuple[int, int, int], block: tuple[int, int], args: tuple) -> None:
        import cupy

        from flowkit.tvl1_fused import cupy_launcher

        device = tuple(cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
        cupy_launcher(name, grid, block, device)
        for host, dev in zip(args, device):
            if isinstance(host, np.ndarray):
                host[...] = cupy.asnumpy(dev)
