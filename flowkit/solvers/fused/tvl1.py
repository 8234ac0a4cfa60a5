"""Fused TV-L1 on a CUDA device: the scheme of :mod:`flowkit.solvers.tvl1`, a few kernels per iteration.

Per pyramid level, one kernel warps the second frame and fixes the data term (bicubic sampling
of the frame and its gradient). The primal-dual iterations then run ``iterations_per_launch`` k
at a time (:data:`PER_LAUNCH` by default) in one kernel over every pair still iterating: each block
iterates on a tile of its pair in shared memory (:data:`~flowkit.solvers.fused.kernels.TILE`, overlapping its
neighbours by 2k px), so the state crosses global memory once per k iterations. Each iteration's
squared update is summed per pair on the device, where the last block of each pair applies the
pair's stopping test; a pair that stops inside a chunk is rerun from the chunk's start for the
iterations it needed, once per warping, so the flow is that of one iteration per launch (k = 1,
a kernel of its own). The host reads the pairs' states only every ``poll`` iterations
(:data:`POLL`), to leave the loop and to launch blocks only for the pairs still iterating. The
median filter is a sorting-network kernel.

The kernels' source is ``flowkit/solvers/fused/cuda/tvl1.cu``; their NumPy twins are the array code of
:mod:`flowkit.solvers.tvl1` and :mod:`flowkit.solvers.imgops`. :class:`FusedTVL1` runs on any
:class:`flowkit.solvers.fused.kernels.Launcher`: CuPy's compiled module on a GPU, or the same source built for
the CPU in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...backend import get_xp
from ...errors import FlowError
from ...params import TVL1Params
from ..imgops import centered_gradient
from ..tvl1 import coarse_to_fine
from .kernels import BLOCK, MAX_PER_LAUNCH, TILE, Launcher, cupy_launcher, grid

__all__ = ["PER_LAUNCH", "POLL", "FusedTVL1", "fused_supported", "tvl1_fused"]

# the fastest pair on an H100 over batches of 128 and 256 (benchmarks/gpu_flow_speed.py;
# measurements in docs/flow.md)
POLL = 100  # iterations between two reads of the pairs' states by the host
PER_LAUNCH = 4  # primal-dual iterations per kernel launch


def fused_supported(params: TVL1Params) -> bool:
    """Whether the fused kernels implement ``params`` (the illumination term ``gamma`` is not)."""
    return params.gamma == 0


@dataclass
class FusedTVL1:
    """The fused solver on one array module (CuPy, or NumPy with an emulating launcher)."""

    params: TVL1Params
    launch: Launcher
    poll: int = POLL
    iterations_per_launch: int = PER_LAUNCH  # k > 1: k iterations per launch of the tiled kernel tsf_steps

    def __post_init__(self) -> None:
        if not 1 <= self.iterations_per_launch <= MAX_PER_LAUNCH:
            raise FlowError(f"iterations_per_launch must be 1 to {MAX_PER_LAUNCH}, not {self.iterations_per_launch}")

    def __call__(self, i0: Any, i1: Any) -> Any:
        """``(N, H, W, 2)`` flow from ``(N, H, W)`` float32 frames, as :func:`flowkit.solvers.tvl1.tvl1`."""
        return get_xp(i0).stack(coarse_to_fine(i0, i1, self.params, self._solve_level), axis=-1)

    def _solve_level(self, i0: Any, i1: Any, flow: list[Any]) -> list[Any]:
        """Warpings and iterations on one level; ``flow`` is ``[u, v]``, each ``(N, H, W)``."""
        xp = get_xp(i0)
        params = self.params
        n, h, w = i0.shape
        i1x, i1y = centered_gradient(i1)
        i0, i1 = xp.ascontiguousarray(i0), xp.ascontiguousarray(i1)
        i1x, i1y = xp.ascontiguousarray(i1x), xp.ascontiguousarray(i1y)
        planes = [xp.empty((n, h, w), xp.float32) for _ in range(3)]
        level = _Level(
            state=xp.zeros((2, 6, n, h, w), xp.float32), cur=xp.zeros(n, xp.int32), active=xp.ones(n, xp.int32),
            redo=xp.zeros(n, xp.int32), ix=planes[0], iy=planes[1], rc=planes[2],
            err=xp.zeros((n, MAX_PER_LAUNCH) if self.iterations_per_launch > 1 else n, xp.uint64),
            arrived=xp.zeros(n, xp.uint32), n=np.int32(n), h=np.int32(h), w=np.int32(w),
            step=(np.float32(params.lambda_ * params.theta), np.float32(params.theta),
                  np.float32(params.tau / params.theta), np.float64(np.float32(params.epsilon**2 * h * w))))
        level.state[0, :2] = xp.stack(flow)
        blocks = grid(h, w, BLOCK)
        median = params.median_filtering if params.median_filtering > 1 else 0
        for _ in range(params.warps):
            level.active.fill(1)
            self.launch("tsf_warp", (*blocks, n), BLOCK, (level.state, level.cur, i0, i1, i1x, i1y, level.ix,
                                                          level.iy, level.rc, level.n, level.h, level.w))
            pairs = xp.arange(n, dtype=xp.int32)
            steps = 0
            for _ in range(params.outer_iterations):
                if median:
                    self.launch("tsf_median", (*blocks, len(pairs)), BLOCK,
                                (level.state, level.cur, level.active, pairs, level.arrived, level.n, level.h,
                                 level.w, np.int32(median)))
                left = params.inner_iterations
                while left and len(pairs):
                    k = min(self.iterations_per_launch, left)
                    self._iterate(level, pairs, k)
                    left -= k
                    steps += k
                    if steps // self.poll != (steps - k) // self.poll:
                        pairs = xp.nonzero(level.active)[0].astype(xp.int32)
                if len(pairs) == 0:
                    break
            if self.iterations_per_launch > 1:
                self._iterate(level, xp.arange(n, dtype=xp.int32), self.iterations_per_launch, rerun=True)
        solved = level.state[level.cur, :2, xp.arange(n)]
        return [solved[:, 0], solved[:, 1]]

    def _iterate(self, level: _Level, pairs: Any, k: int, rerun: bool = False) -> None:
        """``k`` iterations of the active pairs in ``pairs``, or the reruns of those that stopped in a chunk."""
        if self.iterations_per_launch == 1:
            self.launch("tsf_step", (*grid(level.h, level.w, BLOCK), len(pairs)), BLOCK,
                        (level.state, level.cur, level.active, pairs, level.ix, level.iy, level.rc, level.err,
                         level.arrived, level.n, level.h, level.w, *level.step))
            return
        inner = (TILE[0] - 2 * k, TILE[1] - 2 * k)
        self.launch("tsf_steps", (*grid(level.h, level.w, inner), len(pairs)), BLOCK,
                    (level.state, level.cur, level.active, pairs, level.redo, level.ix, level.iy, level.rc,
                     level.err, level.arrived, level.n, level.h, level.w, *level.step, np.int32(k),
                     np.int32(rerun)))


@dataclass
class _Level:
    """The device arrays of one pyramid level's solve, as the kernels take them."""

    state: Any  # (2, 6, N, H, W): two buffers of [u1, u2, p11, p12, p21, p22]
    cur: Any  # (N,) the buffer that holds each pair's current state
    active: Any  # (N,) 1 while a pair iterates in the current warping
    redo: Any  # (N,) iterations to rerun for a pair that stopped inside a chunk
    ix: Any  # (N, H, W) the warped gradient and the data term's constants
    iy: Any
    rc: Any
    err: Any  # (N,) or (N, MAX_PER_LAUNCH) squared updates in fixed point
    arrived: Any  # (N,) blocks of each pair that have finished the running kernel
    n: np.int32
    h: np.int32
    w: np.int32
    step: tuple[np.float32, np.float32, np.float32, np.float64]  # lambda * theta, theta, tau / theta, stop


def tvl1_fused(i0: Any, i1: Any, params: TVL1Params, poll: int = POLL,
               iterations_per_launch: int = PER_LAUNCH) -> Any:
    """TV-L1 flow of CuPy ``(N, H, W)`` float32 frames with the fused kernels; ``(N, H, W, 2)``."""
    return FusedTVL1(params, cupy_launcher, poll, iterations_per_launch)(i0, i1)
