"""The CUDA kernels of flowkit: their source, and how a solver launches them.

The fused solvers (:mod:`flowkit.solvers.fused.tvl1`, :mod:`flowkit.solvers.fused.brox`) share one
module built from the files of ``flowkit/solvers/fused/cuda``, with the sizes below as macros and
the median networks filled in. A solver runs its kernels through a :class:`Launcher`: CuPy's
compiled module on a GPU (:func:`cupy_launcher`), or the same source built for the CPU in the tests.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any, Protocol

from .sortnet import median_cuda

__all__ = ["BLOCK", "MAX_PER_LAUNCH", "STEPS_MIN_BLOCKS", "TILE", "Launcher", "cupy_launcher", "grid",
           "kernel_source"]

SOURCES = ("tvl1.cu", "brox.cu")
BLOCK = (32, 8)  # threads per tile (x, y): a warp reads 128 contiguous bytes of a row
# (x, y) px of a tile of tsf_steps: its six state planes take 42 KiB, under the 48 KiB of shared
# memory a block gets without opting in; 7 px per thread, a row of 64 is two warps' loads
TILE = (64, 28)
MAX_PER_LAUNCH = 8  # most TV-L1 iterations in one launch of tsf_steps: an inner tile of 48 x 12 px
# blocks of tsf_steps that each multiprocessor must hold at once, which caps the registers per
# thread: 4 was the fastest of 1 to 5 on an H100 (measurements in docs/flow.md)
STEPS_MIN_BLOCKS = 4


class Launcher(Protocol):
    """Runs one kernel of :func:`kernel_source` over a grid of blocks."""

    def __call__(self, name: str, grid: tuple[int, int, int], block: tuple[int, int], args: tuple) -> None: ...


@functools.cache
def kernel_source() -> str:
    """The CUDA source of all fused kernels, with the median networks filled in."""
    folder = resources.files(__package__).joinpath("cuda")
    source = "\n".join(folder.joinpath(name).read_text() for name in SOURCES)
    sizes = {"TSF_TILE_W": TILE[0], "TSF_TILE_H": TILE[1], "TSF_THREADS": BLOCK[0] * BLOCK[1],
             "TSF_CHUNK_MAX": MAX_PER_LAUNCH, "TSF_STEPS_MIN_BLOCKS": STEPS_MIN_BLOCKS}
    defines = "".join(f"#define {name} {value}\n" for name, value in sizes.items())
    return defines + source.replace("/*MEDIAN9*/", median_cuda(9)).replace("/*MEDIAN25*/", median_cuda(25))


@functools.cache
def _cupy_module() -> Any:
    import cupy

    # no FMA contraction: the kernels round as their NumPy twins do
    return cupy.RawModule(code=kernel_source(), options=("--fmad=false",))


def cupy_launcher(name: str, grid: tuple[int, int, int], block: tuple[int, int], args: tuple) -> None:
    """:class:`Launcher` that runs the kernels on the current CUDA device with CuPy."""
    _cupy_module().get_function(name)(grid, (*block, 1), args)


def grid(h: int, w: int, tile: tuple[int, int]) -> tuple[int, int]:
    """Blocks (x, y) to cover an ``h`` x ``w`` image with tiles of ``tile`` px (x, y)."""
    return (int(w) + tile[0] - 1) // tile[0], (int(h) + tile[1] - 1) // tile[1]
