"""Brox, Bruhn, Papenberg and Weickert (ECCV 2004) optical flow on batches of frame pairs.

The scheme is that of OpenCV's CUDA ``BroxOpticalFlow`` (``NCVBroxOpticalFlow.cu``), through
which denseflow, dense_flow and gpu_flow made the published Brox flows: frames on the [0, 1]
scale; a pyramid of ``scale_factor`` with at most ``outer_iterations`` levels, down to about
15 px; one warping of the second frame per level (the outer fixed point); at each level
``inner_iterations`` updates of the Charbonnier weights Psi' of the data and smoothness terms
for the flow increment ``(du, dv)`` (lagged nonlinearity), each followed by
``solver_iterations`` red-black SOR sweeps of the linearised Euler-Lagrange equations.
Derivatives use the stencil ``(1, -8, 0, 8, -1) / 12`` with a mirrored border; the gradient
constancy term uses the second derivatives of the second frame at the warped positions.

Where this departs from OpenCV: the frames are pre-smoothed with a Gaussian of ``sigma`` as in
the paper (OpenCV applies none); each level is Gaussian-smoothed and then resampled bilinearly
(OpenCV averages over the area), and the flow goes up a level bilinearly on the same grid
(OpenCV resizes it bicubically); the warp is bicubic (OpenCV interpolates its textures
bilinearly, with 8-bit fractions), on a mirrored border; pixels whose warped position leaves the
frame get no data term, so the smoothness term fills their flow in (compared with border
pixels instead, they left errors of up to 7 px along the borders of generated pairs); and the
default SOR relaxation is 1.9 rather than OpenCV's 1.99 (see ``BROX_PRESETS``).

Every step works on ``(N, H, W)`` arrays of any array module. A pair whose increment stops
changing (``tolerance``) leaves the level's working set and keeps its values, so a pair gives
the same flow in a batch as alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend import get_xp
from ..params import BroxParams
from .imgops import centered_gradient, remap_cubic, resize_linear

__all__ = ["FixedPointStep", "Linearisation", "brox", "fixed_point_step", "pyramid_sizes"]

_LEVEL_LIMIT = 15  # OpenCV adds levels while the previous one is wider and higher than this
_ZOOM_SIGMA = 0.6  # level smoothing is _ZOOM_SIGMA * sqrt(1 / eta^2 - 1), as in Sanchez et al.'s IPOL code
_DERIVATIVE = (1 / 12, -8 / 12, 0.0, 8 / 12, -1 / 12)  # taps on f[x - 2] .. f[x + 2]
_PAD = 2  # border added before warping, so that no bicubic tap falls outside the frame


def pyramid_sizes(height: int, width: int, params: BroxParams) -> list[tuple[int, int]]:
    """``(H, W)`` of each pyramid level, finest first, rounded up as OpenCV's CUDA code does."""
    sizes = [(height, width)]
    factor = np.float32(params.scale_factor)
    scale = factor
    while min(sizes[-1]) > _LEVEL_LIMIT and len(sizes) < params.outer_iterations:
        sizes.append((math.ceil(np.float32(height) * scale), math.ceil(np.float32(width) * scale)))
        scale = scale * factor
    return sizes


def brox(i0: Any, i1: Any, params: BroxParams, step: FixedPointStep | None = None) -> Any:
    """Brox et al. flow from ``i0`` to ``i1``.

    Args:
        i0, i1: ``(N, H, W)`` float32 gray frames on the 0-255 scale (NumPy or CuPy).
        params: the solver settings.
        step: one fixed-point iteration (weights, then SOR sweeps); the array code by default,
            the CUDA kernels of :mod:`flowkit.solvers.fused.brox` on a GPU.

    Returns:
        ``(N, H, W, 2)`` float32 flow (x, y) such that ``i0(x, y) ~ i1(x + u, y + v)``.
    """
    xp = get_xp(i0)
    sizes = pyramid_sizes(i0.shape[1], i0.shape[2], params)
    levels0 = _pyramid(_presmooth(i0, params.sigma), sizes, params.scale_factor)
    levels1 = _pyramid(_presmooth(i1, params.sigma), sizes, params.scale_factor)
    u = xp.zeros((i0.shape[0], *sizes[-1]), xp.float32)
    v = xp.zeros_like(u)
    upscale = 1.0 / params.scale_factor
    for level in range(len(sizes) - 1, -1, -1):
        u, v = _solve_level(levels0[level], levels1[level], u, v, params, step or fixed_point_step)
        if level > 0:
            # the same sampling grid as the downscaling, so a level's pixel maps onto the next exactly
            u, v = (resize_linear(f, sizes[level - 1], upscale) * xp.float32(upscale) for f in (u, v))
    return xp.stack([u, v], axis=-1)


def _correlate(images: Any, taps: tuple[float, ...], axis: int) -> Any:
    """Correlate ``(N, H, W)`` images with odd-length ``taps`` along ``axis``, mirrored border."""
    xp = get_xp(images)
    radius, size = len(taps) // 2, images.shape[axis]
    pad = [(0, 0)] * 3
    pad[axis] = (radius, radius)
    padded = xp.pad(images, pad, mode="symmetric")
    out = xp.zeros_like(images)
    for k, tap in enumerate(taps):
        if tap:
            window = [slice(None)] * 3
            window[axis] = slice(k, k + size)
            out += padded[tuple(window)] * xp.float32(tap)
    return out


def _gaussian(images: Any, sigma: float) -> Any:
    """Separable Gaussian blur over 3 sigma with a mirrored border."""
    radius = max(1, math.ceil(3 * sigma))
    weights = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = tuple(float(t) for t in weights / weights.sum())
    return _correlate(_correlate(images, taps, 2), taps, 1)


def _presmooth(frames: Any, sigma: float) -> Any:
    """Frames on the [0, 1] scale (the range alpha and eps are set for), smoothed by ``sigma``."""
    xp = get_xp(frames)
    scaled = frames * xp.float32(1 / 255)
    return _gaussian(scaled, sigma) if sigma > 0 else scaled


def _pyramid(frames: Any, sizes: list[tuple[int, int]], factor: float) -> list[Any]:
    """Levels of ``sizes``, each smoothed against aliasing and resampled from the one above."""
    sigma = _ZOOM_SIGMA * math.sqrt(1 / factor**2 - 1)
    levels = [frames]
    for size in sizes[1:]:
        levels.append(resize_linear(_gaussian(levels[-1], sigma), size, factor))
    return levels


def _derivatives(images: Any) -> tuple[Any, Any, Any, Any, Any]:
    """``Ix, Iy, Ixx, Ixy, Iyy`` with the 5-point stencil, as OpenCV's CUDA code computes them."""
    ix, iy = _correlate(images, _DERIVATIVE, 2), _correlate(images, _DERIVATIVE, 1)
    return ix, iy, *(_correlate(f, _DERIVATIVE, axis) for f, axis in ((ix, 2), (iy, 2), (iy, 1)))


def _warp(images: tuple[Any, ...], u: Any, v: Any) -> tuple[tuple[Any, ...], Any]:
    """Sample ``images`` bicubically at ``(x + u, y + v)``, clamped to the frame, mirrored border.

    The images and maps are padded by ``_PAD`` so every tap reads a pixel of the mirrored frame
    (``remap_cubic`` counts taps outside as 0), then cropped back.

    Returns:
        The warped images, and a float32 mask that is 1 where ``(x + u, y + v)`` lies in the frame.
    """
    xp = get_xp(u)
    _, h, w = u.shape
    pad = ((0, 0), (_PAD, _PAD), (_PAD, _PAD))
    grid_y, grid_x = xp.meshgrid(xp.arange(-_PAD, h + _PAD, dtype=xp.float32),
                                 xp.arange(-_PAD, w + _PAD, dtype=xp.float32), indexing="ij")
    map_x, map_y = grid_x + xp.pad(u, pad), grid_y + xp.pad(v, pad)
    inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    shift = xp.float32(_PAD)
    map_x, map_y = xp.clip(map_x, 0, w - 1) + shift, xp.clip(map_y, 0, h - 1) + shift
    padded = tuple(xp.pad(im, pad, mode="symmetric") for im in images)
    crop = (slice(None), slice(_PAD, -_PAD), slice(_PAD, -_PAD))
    return tuple(s[crop] for s in remap_cubic(padded, map_x, map_y)), inside[crop].astype(xp.float32)


@dataclass
class Linearisation:
    """What one warping fixes: the flow so far and the linearised data term's image terms."""

    u: Any
    v: Any
    ix: Any  # derivatives of the warped second frame
    iy: Any
    ixx: Any
    ixy: Any
    iyy: Any
    iz: Any  # I1(x + w) - I0(x)
    ixz: Any  # Ix(x + w) - I0x(x)
    iyz: Any  # Iy(x + w) - I0y(x)

    def take(self, keep: Any) -> Linearisation:
        """The pairs at indices ``keep``."""
        return Linearisation(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))


FixedPointStep = Callable[[Linearisation, Any, Any, BroxParams], tuple[Any, Any]]
"""``step(level, du, dv, params)``: the increment after one fixed-point iteration from ``(du, dv)``,
in new arrays."""


def _solve_level(i0: Any, i1: Any, u: Any, v: Any, params: BroxParams,
                 step: FixedPointStep) -> tuple[Any, Any]:
    """One warping and its inner fixed-point iterations; returns ``(u + du, v + dv)``."""
    xp = get_xp(i0)
    n, h, w = i0.shape
    i0x, i0y = _correlate(i0, _DERIVATIVE, 2), _correlate(i0, _DERIVATIVE, 1)
    (w1, *warped), inside = _warp((i1, *_derivatives(i1)), u, v)
    # no data term where the warp leaves the frame: the smoothness term fills the flow in there
    wx, wy, wxx, wxy, wyy = (f * inside for f in warped)
    level = Linearisation(u, v, wx, wy, wxx, wxy, wyy,
                          (w1 - i0) * inside, wx - i0x * inside, wy - i0y * inside)
    du, dv = xp.zeros_like(u), xp.zeros_like(u)
    stop = np.float64(params.tolerance**2 * h * w)
    active = xp.arange(n)
    work_du, work_dv = du.copy(), dv.copy()
    for _ in range(params.inner_iterations):
        new_du, new_dv = step(level, work_du, work_dv, params)
        change = xp.sum((new_du - work_du) ** 2 + (new_dv - work_dv) ** 2, axis=(1, 2), dtype=xp.float64)
        work_du, work_dv = new_du, new_dv
        done = change <= stop
        if bool(done.any()):
            du[active], dv[active] = work_du, work_dv
            keep = xp.nonzero(~done)[0]
            if keep.size == 0:
                return u + du, v + dv
            active = active[keep]
            work_du, work_dv = work_du[keep], work_dv[keep]
            level = level.take(keep)
    du[active], dv[active] = work_du, work_dv
    return u + du, v + dv


def _diffusivity(u: Any, v: Any, eps2: Any) -> tuple[Any, Any]:
    """Smoothness weights Psi'(|grad u|^2 + |grad v|^2) between horizontal and vertical neighbours.

    ``sx[..., i]`` couples pixels ``i - 1`` and ``i`` of a row (0 on the first column, so no
    flux crosses the border); ``sy`` likewise along columns. The derivative along the link is
    the difference of its two pixels, the one across it the mean of their central differences.
    """
    xp = get_xp(u)
    half = xp.float32(0.5)
    ucx, ucy = centered_gradient(u)
    vcx, vcy = centered_gradient(v)
    along_x = ((u[:, :, 1:] - u[:, :, :-1]) ** 2 + (v[:, :, 1:] - v[:, :, :-1]) ** 2
               + (half * (ucy[:, :, 1:] + ucy[:, :, :-1])) ** 2
               + (half * (vcy[:, :, 1:] + vcy[:, :, :-1])) ** 2)
    along_y = ((u[:, 1:] - u[:, :-1]) ** 2 + (v[:, 1:] - v[:, :-1]) ** 2
               + (half * (ucx[:, 1:] + ucx[:, :-1])) ** 2 + (half * (vcx[:, 1:] + vcx[:, :-1])) ** 2)
    sx, sy = xp.zeros_like(u), xp.zeros_like(u)
    sx[:, :, 1:] = half / xp.sqrt(along_x + eps2)
    sy[:, 1:] = half / xp.sqrt(along_y + eps2)
    return sx, sy


def _neighbours(f: Any, sx: Any, sy: Any) -> Any:
    """``sum_n s_n f_n`` over the four neighbours, with the link weights of :func:`_diffusivity`."""
    out = get_xp(f).zeros_like(f)
    out[:, :, 1:] = sx[:, :, 1:] * f[:, :, :-1]
    out[:, :, :-1] += sx[:, :, 1:] * f[:, :, 1:]
    out[:, 1:] += sy[:, 1:] * f[:, :-1]
    out[:, :-1] += sy[:, 1:] * f[:, 1:]
    return out


def fixed_point_step(c: Linearisation, du: Any, dv: Any, params: BroxParams) -> tuple[Any, Any]:
    """Weights Psi' at ``(du, dv)``, then red-black SOR sweeps on the linear system they give.

    Per pixel the system is ``(a11 + S) du + a12 dv = sum_n s_n (u_n + du_n) - S u - b1`` and its
    twin for ``dv``, with ``S`` the sum of the four link weights ``s_n`` (the Euler-Lagrange
    equations divided by alpha, as OpenCV writes them).
    """
    xp = get_xp(du)
    gamma = xp.float32(params.gamma)
    eps2 = xp.float32(params.eps**2)
    omega = xp.float32(params.omega)
    q0 = c.iz + c.ix * du + c.iy * dv
    q1 = c.ixz + c.ixx * du + c.ixy * dv
    q2 = c.iyz + c.ixy * du + c.iyy * dv
    psi = xp.float32(0.5 / params.alpha) / xp.sqrt(q0 * q0 + gamma * (q1 * q1 + q2 * q2) + eps2)
    a11 = psi * (c.ix * c.ix + gamma * (c.ixx * c.ixx + c.ixy * c.ixy))
    a12 = psi * (c.ix * c.iy + gamma * c.ixy * (c.ixx + c.iyy))
    a22 = psi * (c.iy * c.iy + gamma * (c.ixy * c.ixy + c.iyy * c.iyy))
    sx, sy = _diffusivity(c.u + du, c.v + dv, eps2)
    total = sx + sy
    total[:, :, :-1] += sx[:, :, 1:]
    total[:, :-1] += sy[:, 1:]
    # the parts that stay fixed during the sweeps: u's smoothness and the data term's constants
    b1 = psi * (c.ix * c.iz + gamma * (c.ixx * c.ixz + c.ixy * c.iyz))
    b2 = psi * (c.iy * c.iz + gamma * (c.ixy * c.ixz + c.iyy * c.iyz))
    rhs_u = _neighbours(c.u, sx, sy) - total * c.u - b1
    rhs_v = _neighbours(c.v, sx, sy) - total * c.v - b2
    step_u = omega / (a11 + total)
    step_v = omega / (a22 + total)
    h, w = du.shape[1:]
    red = (xp.arange(h)[:, None] + xp.arange(w)[None, :]) % 2 == 0
    inertia = xp.float32(1) - omega
    for _ in range(params.solver_iterations):
        # a pixel's four neighbours have the other colour, so each half-sweep is one array update
        for colour in (red, ~red):
            du = xp.where(colour, inertia * du + step_u * (_neighbours(du, sx, sy) + rhs_u - a12 * dv), du)
            dv = xp.where(colour, inertia * dv + step_v * (_neighbours(dv, sx, sy) + rhs_v - a12 * du), dv)
    return du, dv
