"""Fused TV-L1 on a CUDA device: the scheme of :mod:`flowkit.tvl1`, a few kernels per iteration.

Per pyramid level, one kernel warps the second frame and fixes the data term (bicubic sampling
of the frame and its gradient); each primal-dual iteration is then one kernel that updates the
flow and the dual variables of every pair still iterating, and sums each pair's squared update on
the device, where the last block of each pair to finish applies the pair's stopping test. The host reads the
pairs' states only every ``poll`` iterations, to leave the loop and to launch blocks only for the
pairs still iterating. The median filter is a sorting-network kernel.

The kernels' source is ``flowkit/cuda/tvl1.cu``; their NumPy twins are the array code of
:mod:`flowkit.tvl1` and :mod:`flowkit.imgops`. :class:`FusedTVL1` runs on any object with the
:class:`Launcher` interface: CuPy's compiled module on a GPU (:func:`cupy_launcher`), or the
same source built for the CPU in the tests.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

import numpy as np

from .backend import get_xp
from .imgops import centered_gradient
from .params import TVL1Params
from .sortnet import median_cuda
from .tvl1 import coarse_to_fine

__all__ = ["FusedTVL1", "Launcher", "cupy_launcher", "fused_supported", "kernel_source", "tvl1_fused"]

BLOCK = (32, 8)  # threads per tile (x, y): a warp reads 128 contiguous bytes of a row


class Launcher(Protocol):
    """Runs one kernel of :func:`kernel_source` over a grid of blocks."""

    def __call__(self, name: str, grid: tuple[int, int, int], block: tuple[int, int], args: tuple) -> None: ...


@functools.cache
def kernel_source() -> str:
    """The CUDA source of the fused kernels, with the median networks filled in."""
    source = resources.files("flowkit").joinpath("cuda/tvl1.cu").read_text()
    return source.replace("/*MEDIAN9*/", median_cuda(9)).replace("/*MEDIAN25*/", median_cuda(25))


@functools.cache
def _cupy_module() -> Any:
    import cupy

    # no FMA contraction: the kernels round as their NumPy twins do
    return cupy.RawModule(code=kernel_source(), options=("--fmad=false",))


def cupy_launcher(name: str, grid: tuple[int, int, int], block: tuple[int, int], args: tuple) -> None:
    """:class:`Launcher` that runs the kernels on the current CUDA device with CuPy."""
    _cupy_module().get_function(name)(grid, (*block, 1), args)


def fused_supported(params: TVL1Params) -> bool:
    """Whether the fused kernels implement ``params`` (the illumination term ``gamma`` is not)."""
    return params.gamma == 0


@dataclass
class FusedTVL1:
    """The fused solver on one array module (CuPy, or NumPy with an emulating launcher)."""

    params: TVL1Params
    launch: Launcher
    poll: int = 10  # iterations between two reads of the pairs' states by the host

    def __call__(self, i0: Any, i1: Any) -> Any:
        """``(N, H, W, 2)`` flow from ``(N, H, W)`` float32 frames, as :func:`flowkit.tvl1.tvl1`."""
        return get_xp(i0).stack(coarse_to_fine(i0, i1, self.params, self._solve_level), axis=-1)

    def _solve_level(self, i0: Any, i1: Any, flow: list[Any]) -> list[Any]:
        """Warpings and iterations on one level; ``flow`` is ``[u, v]``, each ``(N, H, W)``."""
        xp = get_xp(i0)
        params = self.params
        n, h, w = i0.shape
        i1x, i1y = centered_gradient(i1)
        i0, i1 = xp.ascontiguousarray(i0), xp.ascontiguousarray(i1)
        i1x, i1y = xp.ascontiguousarray(i1x), xp.ascontiguousarray(i1y)
        state = xp.zeros((2, 6, n, h, w), xp.float32)
        state[0, :2] = xp.stack(flow)
        cur = xp.zeros(n, xp.int32)
        active = xp.ones(n, xp.int32)
        err = xp.zeros(n, xp.uint64)
        arrived = xp.zeros(n, xp.uint32)
        ix, iy, rc = (xp.empty((n, h, w), xp.float32) for _ in range(3))
        grid = ((w + BLOCK[0] - 1) // BLOCK[0], (h + BLOCK[1] - 1) // BLOCK[1])
        lt = np.float32(params.lambda_ * params.theta)
        theta, taut = np.float32(params.theta), np.float32(params.tau / params.theta)
        stop = np.float64(np.float32(params.epsilon**2 * h * w))
        median = params.median_filtering if params.median_filtering > 1 else 0
        ni, nh, nw = np.int32(n), np.int32(h), np.int32(w)
        for _ in range(params.warps):
            active.fill(1)
            self.launch("tsf_warp", (*grid, n), BLOCK, (state, cur, i0, i1, i1x, i1y, ix, iy, rc, ni, nh, nw))
            pairs = xp.arange(n, dtype=xp.int32)
            steps = 0
            for _ in range(params.outer_iterations):
                if median:
                    self.launch("tsf_median", (*grid, len(pairs)), BLOCK,
                                (state, cur, active, pairs, err, arrived, ni, nh, nw, np.int32(median)))
                for _ in range(params.inner_iterations):
                    self.launch("tsf_step", (*grid, len(pairs)), BLOCK,
                                (state, cur, active, pairs, ix, iy, rc, err, arrived, ni, nh, nw, lt, theta,
                                 taut, stop))
                    steps += 1
                    if steps % self.poll == 0:
                        pairs = xp.nonzero(active)[0].astype(xp.int32)
                        if len(pairs) == 0:
                            break
                if len(pairs) == 0:
                    break
        solved = state[cur, :2, xp.arange(n)]
        return [solved[:, 0], solved[:, 1]]


def tvl1_fused(i0: Any, i1: Any, params: TVL1Params, poll: int = 10) -> Any:
    """TV-L1 flow of CuPy ``(N, H, W)`` float32 frames with the fused kernels; ``(N, H, W, 2)``."""
    return FusedTVL1(params, cupy_launcher, poll)(i0, i1)
