"""Brox et al. on a CUDA device: the scheme of :mod:`flowkit.solvers.brox`, its inner loop in kernels.

The pyramid, the warps and the per-pair stopping test stay the array code of :mod:`flowkit.solvers.brox`;
each fixed-point iteration, where nearly all the work is, becomes ``2 + 2 x solver_iterations``
kernels: the smoothness weights, the linear system's coefficients, then one kernel per colour of
each red-black SOR sweep. The array code spends 32 CuPy kernels on one half-sweep (16 for du, 16 for dv) and
reads and writes the whole frame for each; a kernel here updates half the pixels and writes only
those. The kernels' source is ``flowkit/solvers/fused/cuda/brox.cu``; their NumPy twin is
:func:`flowkit.solvers.brox.fixed_point_step`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...backend import get_xp
from ...params import BroxParams
from ..brox import Linearisation, brox
from .kernels import BLOCK, Launcher, cupy_launcher, grid

__all__ = ["FusedBrox", "brox_fused"]

# the planes of a Linearisation that tsf_brox_system reads, in its argument order
_TERMS = ("ix", "iy", "ixx", "ixy", "iyy", "iz", "ixz", "iyz")


@dataclass
class FusedBrox:
    """The fused solver on one array module (CuPy, or NumPy with an emulating launcher)."""

    params: BroxParams
    launch: Launcher

    def __call__(self, i0: Any, i1: Any) -> Any:
        """``(N, H, W, 2)`` flow from ``(N, H, W)`` float32 frames, as :func:`flowkit.solvers.brox.brox`."""
        return brox(i0, i1, self.params, self.fixed_point_step)

    def fixed_point_step(self, c: Linearisation, du: Any, dv: Any, params: BroxParams) -> tuple[Any, Any]:
        """:func:`flowkit.solvers.brox.fixed_point_step` in kernels; ``du`` and ``dv`` stay as they are."""
        xp = get_xp(du)
        n, h, w = du.shape
        u, v, *terms = (xp.ascontiguousarray(getattr(c, f)) for f in ("u", "v", *_TERMS))
        du, dv = xp.array(du, order="C"), xp.array(dv, order="C")  # updated in place by the sweeps
        sx, sy, a12, rhs_u, rhs_v, step_u, step_v = (xp.empty((n, h, w), xp.float32) for _ in range(7))
        size = (np.int32(h), np.int32(w))
        eps2 = np.float32(params.eps**2)
        pixels = (*grid(h, w, BLOCK), n)
        self.launch("tsf_brox_links", pixels, BLOCK, (u, v, du, dv, sx, sy, *size, eps2))
        weights = (np.float32(params.gamma), np.float32(0.5 / params.alpha), eps2, np.float32(params.omega))
        self.launch("tsf_brox_system", pixels, BLOCK,
                    (u, v, du, dv, *terms, sx, sy, a12, rhs_u, rhs_v, step_u, step_v, *size, *weights))
        colour_pixels = (*grid(h, (w + 1) // 2, BLOCK), n)  # a thread per pixel of one colour
        inertia = np.float32(1) - np.float32(params.omega)
        for _ in range(params.solver_iterations):
            for colour in (0, 1):
                self.launch("tsf_brox_sor", colour_pixels, BLOCK, (du, dv, sx, sy, a12, rhs_u, rhs_v, step_u,
                                                                   step_v, *size, inertia, np.int32(colour)))
        return du, dv


def brox_fused(i0: Any, i1: Any, params: BroxParams) -> Any:
    """Brox et al. flow of CuPy ``(N, H, W)`` float32 frames with the fused kernels; ``(N, H, W, 2)``."""
    return FusedBrox(params, cupy_launcher)(i0, i1)
