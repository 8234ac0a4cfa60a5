"""TV-L1 optical flow (Zach, Pock and Bischof 2007) on batches of frame pairs.

The scheme is that of Sánchez, Meinhardt-Llopis and Facciolo (IPOL 2013) as OpenCV's
``tvl1flow.cpp`` implements it, step for step: an image pyramid with ``scale_step``, at each
level ``warps`` bicubic warpings of the second frame, and at each warping primal-dual
iterations that stop when the squared flow update summed over the image falls below
``epsilon**2 * H * W``, with a median filter of the flow every ``inner_iterations``. The dual
variables start at zero on each level. One addition of ours, off in OpenCV's presets: a level
can be solved twice, from the coarser levels' flow and from zero (``restart_level``), each pixel
keeping the better start (:func:`merge_starts`).

Every step works on ``(N, H, W)`` arrays of any array module. Each pair stops on its own test:
pairs that have converged leave the working set and keep their values, so a pair gives the
same flow in a batch as alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import get_xp
from ..params import TVL1Params
from .imgops import (
    box_mean,
    centered_gradient,
    divergence,
    forward_gradient,
    median_filter,
    remap_cubic,
    resize_linear,
)

__all__ = [
    "MIN_SIZE",
    "RESTART_WINDOW",
    "coarse_to_fine",
    "image_pyramids",
    "merge_starts",
    "pyramid_sizes",
    "tvl1",
]

MIN_SIZE = 16  # OpenCV stops the pyramid before a level narrower or lower than this
RESTART_WINDOW = 5  # px of the level: the window over which merge_starts compares the two starts
_FLT_EPSILON = np.float32(np.finfo(np.float32).eps)


def pyramid_sizes(height: int, width: int, params: TVL1Params) -> list[tuple[int, int]]:
    """``(H, W)`` of each pyramid level, finest first, as OpenCV rounds them."""
    sizes = [(height, width)]
    for _ in range(1, params.scales):
        h, w = sizes[-1]
        h, w = int(np.rint(h * params.scale_step)), int(np.rint(w * params.scale_step))
        if h < MIN_SIZE or w < MIN_SIZE:
            break
        sizes.append((h, w))
    return sizes


def image_pyramids(i0: Any, i1: Any, params: TVL1Params) -> tuple[list[tuple[int, int]], list[Any], list[Any]]:
    """The level sizes and the pyramids of both frames, finest first, as OpenCV builds them."""
    sizes = pyramid_sizes(i0.shape[1], i0.shape[2], params)
    levels0, levels1 = [i0], [i1]
    for size in sizes[1:]:
        levels0.append(resize_linear(levels0[-1], size, params.scale_step))
        levels1.append(resize_linear(levels1[-1], size, params.scale_step))
    return sizes, levels0, levels1


def tvl1(i0: Any, i1: Any, params: TVL1Params) -> Any:
    """TV-L1 flow from ``i0`` to ``i1``.

    Args:
        i0, i1: ``(N, H, W)`` float32 gray frames on the 0-255 scale (NumPy or CuPy).
        params: the solver settings.

    Returns:
        ``(N, H, W, 2)`` float32 flow (x, y) such that ``i0(x, y) ~ i1(x + u, y + v)``.
    """
    flow = coarse_to_fine(i0, i1, params, lambda a, b, f: _solve_level(a, b, f, params),
                          components=3 if params.gamma else 2)
    return get_xp(i0).stack(flow[:2], axis=-1)


SolveLevel = Callable[[Any, Any, list[Any]], list[Any]]


def coarse_to_fine(
    i0: Any, i1: Any, params: TVL1Params, solve_level: SolveLevel, components: int = 2
) -> list[Any]:
    """The flow components at the frame's size, refined level by level from the coarsest.

    ``solve_level(i0, i1, flow)`` returns a level's flow refined from ``flow``, the list of
    ``(N, H, W)`` components (x, y and, with ``gamma``, the illumination term). Between levels
    the flow is resized bilinearly and x and y are scaled by ``1 / scale_step``, as OpenCV does.
    At ``params.restart_level`` (below the coarsest level, where both starts would be zero) the
    level is solved a second time from zero and :func:`merge_starts` merges the two.
    """
    xp = get_xp(i0)
    sizes, levels0, levels1 = image_pyramids(i0, i1, params)
    flow = [xp.zeros((i0.shape[0], *sizes[-1]), xp.float32) for _ in range(components)]
    upscale = xp.float32(1.0 / params.scale_step)
    for level in range(len(sizes) - 1, -1, -1):
        solved = solve_level(levels0[level], levels1[level], flow)
        if level == params.restart_level and level < len(sizes) - 1:
            fresh = solve_level(levels0[level], levels1[level], [xp.zeros_like(f) for f in flow])
            gate = params.restart_gate * params.scale_step**level
            solved = merge_starts(levels0[level], levels1[level], solved, fresh, gate)
        flow = solved
        if level == 0:
            break
        flow = [resize_linear(f, sizes[level - 1]) for f in flow]
        flow[0] = flow[0] * upscale
        flow[1] = flow[1] * upscale
    return flow


def merge_starts(i0: Any, i1: Any, carried: list[Any], fresh: list[Any], gate: float) -> list[Any]:
    """Per pixel, the ``fresh`` flow where it fits the frames better than ``carried`` and is near it.

    The fit is TV-L1's own data term, ``|I1(x + u) - I0(x)|`` with the solver's bicubic warp,
    averaged over windows of :data:`RESTART_WINDOW` x :data:`RESTART_WINDOW` px. ``fresh`` is kept
    only within ``gate`` px of ``carried``: a start from zero that ends farther away has lost a motion larger than one
    level's warps can follow, however well it fits a textureless patch.

    Args:
        i0, i1: ``(N, H, W)`` frames of the level.
        carried, fresh: the flow components of the two starts, ``(N, H, W)`` each.
        gate: the largest distance in px between the starts' (x, y) flows at which ``fresh`` is kept.
    """
    xp = get_xp(i0)
    grid_y, grid_x = _pixel_grid(i0)

    def misfit(flow: list[Any]) -> Any:
        (warped,) = remap_cubic((i1,), grid_x + flow[0], grid_y + flow[1])
        return box_mean(xp.abs(warped - i0), RESTART_WINDOW)

    near = xp.hypot(fresh[0] - carried[0], fresh[1] - carried[1]) < xp.float32(gate)
    keep = near & (misfit(fresh) < misfit(carried))
    return [xp.where(keep, f, c) for f, c in zip(fresh, carried)]


def _pixel_grid(images: Any) -> tuple[Any, Any]:
    """``(y, x)`` float32 pixel coordinates of ``(N, H, W)`` images, each ``(H, W)``."""
    xp = get_xp(images)
    _, h, w = images.shape
    return xp.meshgrid(xp.arange(h, dtype=xp.float32), xp.arange(w, dtype=xp.float32), indexing="ij")


@dataclass
class _Warp:
    """What one warping fixes: the warped second frame's gradient and the data term's constants."""

    ix: Any
    iy: Any
    grad: Any  # |grad I1w|^2
    grad_safe: Any  # grad where it is usable as a divisor, else 1
    lt_grad: Any  # lambda * theta * grad
    rho_c: Any  # I1w - grad I1w . u0 - I0

    def take(self, keep: Any) -> _Warp:
        return _Warp(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))


def _solve_level(i0: Any, i1: Any, flow: list[Any], params: TVL1Params) -> list[Any]:
    """Warpings and primal-dual iterations on one pyramid level; returns the new flow."""
    xp = get_xp(i0)
    _, h, w = i0.shape
    lt = xp.float32(params.lambda_ * params.theta)
    stop = np.float32(params.epsilon**2 * h * w)
    i1x, i1y = centered_gradient(i1)
    grid_y, grid_x = _pixel_grid(i0)
    # state: flow components, then two dual components per flow component
    state = [f.astype(xp.float32, copy=True) for f in flow]
    state += [xp.zeros_like(i0) for _ in range(2 * len(flow))]
    for _ in range(params.warps):
        warped, wx, wy = remap_cubic((i1, i1x, i1y), grid_x + state[0], grid_y + state[1])
        grad = wx * wx + wy * wy
        usable = grad > _FLT_EPSILON
        warp = _Warp(wx, wy, grad, xp.where(usable, grad, xp.float32(1)), lt * grad,
                     warped - wx * state[0] - wy * state[1] - i0)
        _iterate_warp(state, warp, params, stop)
    return state[: len(flow)]


def _iterate_warp(state: list[Any], warp: _Warp, params: TVL1Params, stop: np.float32) -> None:
    """Median-filtered primal-dual iterations of one warping, updating ``state`` in place.

    Pairs whose update falls below ``stop`` are written back and dropped from the working set.
    """
    xp = get_xp(warp.ix)
    active = xp.arange(warp.ix.shape[0])
    work = [s.copy() for s in state]
    for _ in range(params.outer_iterations):
        if params.median_filtering > 1:
            work[0] = median_filter(work[0], params.median_filtering)
            work[1] = median_filter(work[1], params.median_filtering)
        for _ in range(params.inner_iterations):
            error = _primal_dual_step(work, warp, params)
            done = error <= stop
            if bool(done.any()):
                for s, ws in zip(state, work):
                    s[active] = ws
                keep = xp.nonzero(~done)[0]
                if keep.size == 0:
                    return
                active = active[keep]
                work = [ws[keep] for ws in work]
                warp = warp.take(keep)
    for s, ws in zip(state, work):
        s[active] = ws


def _primal_dual_step(work: list[Any], c: _Warp, params: TVL1Params) -> Any:
    """One iteration: thresholding (v), primal (u) and dual (p) updates; returns the update size.

    ``work`` holds ``[u1, u2, (u3), p11, p12, p21, p22, (p31, p32)]`` and is updated in place.
    """
    xp = get_xp(c.ix)
    gamma = xp.float32(params.gamma)
    lt = xp.float32(params.lambda_ * params.theta)
    theta = xp.float32(params.theta)
    taut = xp.float32(params.tau / params.theta)
    k = 3 if params.gamma else 2
    u, p = work[:k], work[k:]
    rho = c.rho_c + (c.ix * u[0] + c.iy * u[1])
    if params.gamma:
        rho = rho + gamma * u[2]
    step = xp.where(rho < -c.lt_grad, lt,
                    xp.where(rho > c.lt_grad, -lt,
                             xp.where(c.grad > _FLT_EPSILON, -rho / c.grad_safe, xp.float32(0))))
    v = [u[0] + step * c.ix, u[1] + step * c.iy]
    if params.gamma:
        v.append(u[2] + step * gamma)
    error = xp.zeros(c.ix.shape[0], xp.float64)
    for j in range(k):
        new = v[j] + theta * divergence(p[2 * j], p[2 * j + 1])
        diff = new - u[j]
        error += xp.sum(diff * diff, axis=(1, 2), dtype=xp.float64)
        gx, gy = forward_gradient(new)
        inv = xp.float32(1) / (xp.float32(1) + taut * xp.sqrt(gx * gx + gy * gy))
        work[j] = new
        work[k + 2 * j] = (p[2 * j] + taut * gx) * inv
        work[k + 2 * j + 1] = (p[2 * j + 1] + taut * gy) * inv
    return error
