"""``compute_flow``: one entry point for every flow method and backend."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .backend import get_xp, resolve_backend
from .errors import FlowError
from .params import BroxParams, TVL1Params, brox_params, tvl1_params
from .solvers.brox import brox
from .solvers.fused.brox import brox_fused
from .solvers.fused.tvl1 import fused_supported, tvl1_fused
from .solvers.imgops import to_gray
from .solvers.tvl1 import MIN_SIZE, coarse_to_fine, tvl1

__all__ = ["METHODS", "MIN_SIZE", "compute_flow", "flow_backend", "flow_params"]

METHODS = ("tvl1", "brox")
_NAMES = {"tvl1": "TV-L1", "brox": "Brox"}


def compute_flow(
    prev: Any,
    next: Any,
    method: str = "tvl1",
    backend: str = "auto",
    params: TVL1Params | BroxParams | str | None = None,
) -> Any:
    """Dense optical flow from ``prev`` to ``next``.

    Args:
        prev, next: frames on the 0-255 scale, uint8 or floating point: gray ``(H, W)``, RGB
            ``(H, W, 3)``, or batches ``(N, H, W)`` / ``(N, H, W, 3)``. Colour is converted
            to gray as OpenCV's ``COLOR_RGB2GRAY`` (channels in R, G, B order).
        method: ``"tvl1"`` (Zach et al. 2007) or ``"brox"`` (Brox et al. 2004).
        backend: ``"opencv"`` (cv2 DualTVL1, CPU; TV-L1 only), ``"numpy"`` (this package's
            solver on the CPU), ``"cupy"`` (the same solver on a CUDA GPU, with the fused kernels of
            :mod:`flowkit.solvers.fused.tvl1` and :mod:`flowkit.solvers.fused.brox`; accepts NumPy or
            CuPy arrays and returns the type it was given), or ``"auto"`` (cupy when a CUDA device is usable,
            else opencv for TV-L1 and numpy for Brox).
        params: for ``tvl1`` a :class:`TVL1Params` or a preset name (``"opencv"``,
            ``"opencv-cuda"``, ``"accurate"``); for ``brox`` a :class:`BroxParams` or a preset name
            (``"denseflow"``, ``"opencv-cuda"``); ``None`` for the method's defaults.

    Returns:
        float32 flow ``(H, W, 2)``, or ``(N, H, W, 2)`` for batches: channel 0 is x (right
        positive), channel 1 is y (down positive), such that ``prev(x, y)`` matches
        ``next(x + u, y + v)``, the convention of OpenCV and Middlebury ``.flo``.

    Raises:
        FlowError: unknown method or backend, opencv with brox, cupy without a usable
            device, parameters that do not fit the method, mismatched shapes, unsupported
            dtypes, NaN or inf, frames smaller than 16x16.

    Example:
        >>> import numpy as np
        >>> a = np.random.default_rng(0).uniform(0, 255, (32, 32)).astype(np.float32)
        >>> compute_flow(a, a, backend="numpy").shape
        (32, 32, 2)
    """
    settings = flow_params(method, params)
    concrete = flow_backend(method, backend)
    g0, g1 = _gray_batch(prev, "prev", method), _gray_batch(next, "next", method)
    single = _is_single(prev)
    if g0.shape != g1.shape:
        raise FlowError(f"prev and next differ in size: {g0.shape[1:]} and {g1.shape[1:]}")
    solver = brox if method == "brox" else tvl1
    if concrete == "opencv":
        flow = _opencv_tvl1(g0, g1, settings, uint8=_is_uint8(prev) and _is_uint8(next))
    elif concrete == "numpy":
        flow = solver(_host(g0, concrete), _host(g1, concrete), settings)
    else:
        import cupy

        if method == "brox":
            solver = brox_fused
        elif fused_supported(settings):
            solver = tvl1_fused
        flow = solver(cupy.asarray(g0), cupy.asarray(g1), settings)
        if get_xp(prev) is np:
            flow = cupy.asnumpy(flow)
    return flow[0] if single else flow


def flow_params(
    method: str = "tvl1", params: TVL1Params | BroxParams | str | None = None
) -> TVL1Params | BroxParams:
    """The parameters ``compute_flow(method=method, params=params)`` runs with.

    Args:
        method: one of :data:`METHODS`.
        params: a preset name of that method, its parameter object, or ``None`` (its defaults).

    Raises:
        FlowError: unknown method, or a preset name or parameter object that does not fit it
            (the message lists close preset names).
    """
    if method not in METHODS:
        raise FlowError(f"unknown flow method {method!r}; choose one of {', '.join(METHODS)}")
    return brox_params(params) if method == "brox" else tvl1_params(params)


def flow_backend(method: str, backend: str) -> str:
    """The concrete backend ``compute_flow(method=method, backend=backend)`` runs on.

    Raises:
        FlowError: unknown backend, cupy without a usable device, or opencv with brox.
    """
    concrete = resolve_backend(backend)
    if method == "brox" and concrete == "opencv":
        if backend == "opencv":
            raise FlowError("OpenCV has no CPU Brox flow (its BroxOpticalFlow is CUDA-only); "
                            "use backend='numpy', 'cupy' or 'auto'")
        return "numpy"  # auto without a usable device
    return concrete


def _is_uint8(frames: Any) -> bool:
    return frames.dtype == np.uint8


def _is_single(frames: Any) -> bool:
    return frames.ndim == 2 or (frames.ndim == 3 and frames.shape[-1] == 3)


def _host(frames: Any, backend: str) -> np.ndarray:
    if get_xp(frames) is not np:
        raise FlowError(f"the {backend} backend takes NumPy arrays; use backend='cupy' for CuPy arrays")
    return frames


def _gray_batch(frames: Any, name: str, method: str) -> Any:
    """Validate one input and return it as ``(N, H, W)`` float32 gray."""
    if not hasattr(frames, "ndim") or not hasattr(frames, "dtype"):
        raise FlowError(f"{name} must be a NumPy or CuPy array, got {type(frames).__name__}")
    xp = get_xp(frames)
    if frames.dtype != xp.uint8 and not xp.issubdtype(frames.dtype, xp.floating):
        raise FlowError(f"{name} must be uint8 or floating point on the 0-255 scale, got {frames.dtype}")
    colour = frames.ndim in (3, 4) and frames.shape[-1] == 3
    if frames.ndim not in (2, 3) and not (frames.ndim == 4 and colour):
        raise FlowError(
            f"{name} must be (H, W), (H, W, 3), (N, H, W) or (N, H, W, 3), got shape {tuple(frames.shape)}"
        )
    gray = to_gray(frames) if colour else frames.astype(xp.float32)
    if gray.ndim == 2:
        gray = gray[None]
    if gray.shape[0] == 0:
        raise FlowError(f"{name} is an empty batch")
    h, w = gray.shape[1:]
    if h < MIN_SIZE or w < MIN_SIZE:
        raise FlowError(f"{name} is {w}x{h} pixels; {_NAMES[method]} needs at least {MIN_SIZE}x{MIN_SIZE}")
    if frames.dtype != xp.uint8 and not bool(xp.isfinite(gray).all()):
        raise FlowError(f"{name} contains NaN or inf")
    return gray


def _opencv_tvl1(g0: np.ndarray, g1: np.ndarray, params: TVL1Params, uint8: bool) -> np.ndarray:
    """cv2's DualTVL1 on each pair; uint8 frames are passed as uint8, others as float / 255.

    With ``restart_level``, which OpenCV lacks, cv2 solves one level at a time from the flow that
    :func:`flowkit.solvers.tvl1.coarse_to_fine` hands it (``useInitialFlow``); OpenCV takes no initial
    illumination term, so ``gamma`` must then be 0.
    """
    g0, g1 = _host(g0, "opencv"), _host(g1, "opencv")
    if params.restart_level is not None:
        if params.gamma:
            raise FlowError("the opencv backend cannot restart a level with gamma > 0 (OpenCV takes no "
                            "initial illumination term); use backend='numpy' or set restart_level=None")
        u, v = coarse_to_fine(g0, g1, params, functools.partial(_opencv_level, params))
        return np.stack([u, v], axis=-1)
    out = np.empty((*g0.shape, 2), np.float32)
    for i in range(g0.shape[0]):
        a, b = (g.astype(np.uint8) if uint8 else g / np.float32(255) for g in (g0[i], g1[i]))
        out[i] = _cv_dual_tvl1(params, params.scales, initial=False).calc(a, b, None)
    return out


def _opencv_level(
    params: TVL1Params, i0: np.ndarray, i1: np.ndarray, flow: list[np.ndarray]
) -> list[np.ndarray]:
    """One pyramid level of cv2's DualTVL1 per pair from ``flow`` (``coarse_to_fine``'s ``solve_level``)."""
    out = np.stack(flow, axis=-1)
    solver = _cv_dual_tvl1(params, 1, initial=True)  # one level: no scale count for calc() to lower
    for i in range(i0.shape[0]):
        out[i] = solver.calc(i0[i] / np.float32(255), i1[i] / np.float32(255), np.ascontiguousarray(out[i]))
    return [out[..., 0], out[..., 1]]


def _cv_dual_tvl1(params: TVL1Params, scales: int, initial: bool) -> Any:
    """A fresh cv2 DualTVL1 object: calc() lowers its scale count on small frames and keeps it."""
    import cv2

    return cv2.optflow.DualTVL1OpticalFlow_create(
        tau=params.tau, lambda_=params.lambda_, theta=params.theta, nscales=scales,
        warps=params.warps, epsilon=params.epsilon, innnerIterations=params.inner_iterations,
        outerIterations=params.outer_iterations, scaleStep=params.scale_step,
        gamma=params.gamma, medianFiltering=params.median_filtering, useInitialFlow=initial,
    )
