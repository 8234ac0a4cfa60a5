"""The fused TV-L1 kernels built for the CPU, with the exact kernel code that runs on the GPU.

``flowkit/solvers/fused/cuda/tvl1.cu`` is compiled by the system C++ compiler with a prelude that maps
``threadIdx``/``blockIdx`` to globals and replaces the block reduction by a sum in the same fixed
point. A kernel of one thread's work is called once per CUDA thread, block after block. A
block-level kernel (one with ``TSF_FOR_EACH_THREAD`` phases between its ``__syncthreads()``) is
called once per block, and each phase loops over the block's threads; its ``__shared__`` arrays
are static. The threads run in order, or in reverse order (``reverse``): a thread that reads in one
phase what another writes in the same phase, a race on the GPU, then gives different results.
Each kernel gets a launcher that loops over the grid, so :class:`flowkit.solvers.fused.tvl1.FusedTVL1`
runs here on NumPy arrays.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from flowkit.solvers.fused.kernels import kernel_source

PRELUDE = """
#include <math.h>
#include <stddef.h>
#define TSF_EMULATION 1
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __syncthreads()
#define __launch_bounds__(...)
struct tsf_dim3 { unsigned x, y, z; };
static tsf_dim3 threadIdx, blockIdx, blockDim, gridDim;
static bool tsf_reverse = false;
static inline void tsf_block_sum(unsigned long long* dst, float v);
static inline void __threadfence() {}
template <typename T> static inline T atomicAdd(T* p, T v) { T old = *p; *p += v; return old; }
// the threads of a block run in order: the last one runs once the block's sum is complete
#define TSF_BLOCK_LEADER (threadIdx.x + blockDim.x * threadIdx.y == (tsf_reverse ? 0 : blockDim.x * blockDim.y - 1))
// makes thread number t of the block's order the current one; false past the last
static inline bool tsf_enter(unsigned t) {
    const unsigned count = blockDim.x * blockDim.y;
    if (t >= count) return false;
    const unsigned id = tsf_reverse ? count - 1 - t : t;
    threadIdx = {id % blockDim.x, id / blockDim.x, 0};
    return true;
}
#define TSF_FOR_EACH_THREAD for (unsigned tsf_t = 0; tsf_enter(tsf_t); ++tsf_t)
// per-thread arrays that outlive a phase (registers on the GPU): one copy per thread
#define TSF_OWN_COPIES TSF_THREADS
#define TSF_OWN TSF_TID
extern "C" void emu_set_reverse(int reverse) { tsf_reverse = reverse; }
"""

# after the source's constants: each thread adds its own term, in the device's fixed point
REDUCTION = """
static inline void tsf_block_sum(unsigned long long* dst, float v) {
    *dst += (unsigned long long)(fminf(v, TSF_ERR_MAX) * TSF_ERR_SCALE);
}
"""

_SIGNATURE = re.compile(r'extern "C" __global__ void (?:__launch_bounds__\([^)]*\) )?(\w+)\(([^)]*)\)')
_CTYPES = {"int": ctypes.c_int, "float": ctypes.c_float, "double": ctypes.c_double}


def compiler() -> str | None:
    """The C++ compiler found on PATH, if any."""
    return shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")


def _launcher_source(name: str, params: str, block_level: bool) -> str:
    names = [p.split()[-1].lstrip("*") for p in params.split(",")]
    call = f"{name}({', '.join(names)});"
    per_block = f"threadIdx = {{0, 0, 0}}; {call}" if block_level else f"for (unsigned tsf_t = 0; tsf_enter(tsf_t); ++tsf_t) {call}"
    return f"""
extern "C" void emu_{name}(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, {params}) {{
    gridDim = {{gx, gy, gz}};
    blockDim = {{bx, by, 1}};
    for (unsigned z = 0; z < gz; ++z) for (unsigned y = 0; y < gy; ++y) for (unsigned x = 0; x < gx; ++x) {{
        blockIdx = {{x, y, z}};
        {per_block}
    }}
}}
"""


def _kernels(source: str) -> list[tuple[str, str, bool]]:
    """Each kernel's name, parameter list and whether it is block-level."""
    found = list(_SIGNATURE.finditer(source))
    ends = [m.start() for m in found[1:]] + [len(source)]
    return [(m[1], m[2], "TSF_FOR_EACH_THREAD" in source[m.end():end]) for m, end in zip(found, ends)]


class EmulatedKernels:
    """A :class:`flowkit.solvers.fused.tvl1.Launcher` over NumPy arrays, built in ``workdir``."""

    def __init__(self, workdir: Path, source: str | None = None, reverse: bool = False) -> None:
        self.reverse = reverse  # run each block's threads last to first
        source = kernel_source() if source is None else source
        kernels = _kernels(source)
        code = PRELUDE + source + REDUCTION + "".join(_launcher_source(*k) for k in kernels)
        cpp, lib = workdir / "tvl1_emulated.cpp", workdir / "tvl1_emulated.so"
        cpp.write_text(code)
        # no FMA contraction, as the device build (--fmad=false)
        subprocess.run([compiler(), "-O2", "-shared", "-fPIC", "-ffp-contract=off", "-o", str(lib), str(cpp)],
                       check=True, capture_output=True, text=True)
        self._lib = ctypes.CDLL(str(lib))
        self._types = {n: [self._ctype(p) for p in params.split(",")] for n, params, _ in kernels}

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
        self._lib.emu_set_reverse(int(self.reverse))
        getattr(self._lib, f"emu_{name}")(*(ctypes.c_uint(int(g)) for g in (*grid, *block)), *converted)


class CudaOnNumpy:
    """A :class:`flowkit.solvers.fused.tvl1.Launcher` that runs the kernels on the GPU over NumPy arrays
    (copied there and back), so one test body checks the device build and the CPU build."""

    def __call__(self, name: str, grid: tuple[int, int, int], block: tuple[int, int], args: tuple) -> None:
        import cupy

        from flowkit.solvers.fused.kernels import cupy_launcher

        device = tuple(cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
        cupy_launcher(name, grid, block, device)
        for host, dev in zip(args, device):
            if isinstance(host, np.ndarray):
                host[...] = cupy.asnumpy(dev)
