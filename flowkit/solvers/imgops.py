"""Image operations on batches of frames ``(N, H, W)`` for NumPy and CuPy.

Each function reproduces the OpenCV operation that ``tvl1flow.cpp`` calls (and ``cv2.blur``
for the restart of :func:`flowkit.solvers.tvl1.merge_starts`), with the same sampling positions, weights
and borders, so the TV-L1 solver gives OpenCV's results on any backend. On NumPy arrays the
median filter, the box mean and the bicubic remap call OpenCV itself (fast on the CPU); the
array-module versions, used on CuPy, are tested against it on NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import get_xp

__all__ = [
    "box_mean",
    "centered_gradient",
    "divergence",
    "forward_gradient",
    "median_filter",
    "remap_cubic",
    "resize_linear",
    "to_gray",
]

_MAP_LIMIT = 1 << 20  # keeps diverging sampling positions inside int32


def to_gray(frames: Any) -> Any:
    """RGB frames ``(..., 3)`` to gray as OpenCV's ``COLOR_RGB2GRAY``, as float32.

    uint8 input uses OpenCV's fixed-point weights, so the result is the integer OpenCV
    returns; float input uses 0.299, 0.587, 0.114.
    """
    xp = get_xp(frames)
    if frames.dtype == xp.uint8:
        r, g, b = (frames[..., i].astype(xp.int32) for i in range(3))
        return ((r * 4899 + g * 9617 + b * 1868 + (1 << 13)) >> 14).astype(xp.float32)
    f = frames.astype(xp.float32)
    return f[..., 0] * xp.float32(0.299) + f[..., 1] * xp.float32(0.587) + f[..., 2] * xp.float32(0.114)


def _linear_taps(src: int, dst: int, scale: float) -> tuple[np.ndarray, ...]:
    """Source indices and weights of OpenCV's ``INTER_LINEAR`` resize along one axis."""
    f = (np.arange(dst, dtype=np.float64) + 0.5) * scale - 0.5
    i0 = np.floor(f).astype(np.int64)
    f = (f - i0).astype(np.float32)
    low, high = i0 < 0, i0 >= src - 1
    f[low | high] = 0
    i0 = np.clip(i0, 0, src - 1)
    i1 = np.minimum(i0 + 1, src - 1)
    return i0, i1, (np.float32(1) - f).astype(np.float32), f.astype(np.float32)


def resize_linear(images: Any, size: tuple[int, int], factor: float | None = None) -> Any:
    """Bilinear resize of ``(N, H, W)`` float32 images as ``cv2.resize(..., INTER_LINEAR)``.

    Args:
        images: ``(N, H, W)`` float32.
        size: output ``(height, width)``.
        factor: the scale factor when OpenCV is called with ``fx = fy = factor`` (the
            sampling step is then ``1 / factor`` rather than the ratio of the sizes).

    Returns:
        ``(N, height, width)`` float32.
    """
    xp = get_xp(images)
    _, h, w = images.shape
    oh, ow = size
    sx = 1.0 / factor if factor else 1.0 / (ow / w)
    sy = 1.0 / factor if factor else 1.0 / (oh / h)
    x0, x1, ax0, ax1 = (xp.asarray(t) for t in _linear_taps(w, ow, sx))
    y0, y1, ay0, ay1 = (xp.asarray(t) for t in _linear_taps(h, oh, sy))
    rows = images[:, :, x0] * ax0 + images[:, :, x1] * ax1
    return rows[:, y0, :] * ay0[:, None] + rows[:, y1, :] * ay1[:, None]


def _cubic_weights(t: Any) -> list[Any]:
    """OpenCV's bicubic convolution weights (A = -0.75) for fractional offsets ``t``, float32."""
    xp = get_xp(t)
    a, one = xp.float32(-0.75), xp.float32(1)
    c0 = ((a * (t + one) - 5 * a) * (t + one) + 8 * a) * (t + one) - 4 * a
    c1 = ((a + 2) * t - (a + 3)) * t * t + one
    c2 = ((a + 2) * (one - t) - (a + 3)) * (one - t) * (one - t) + one
    return [c0, c1, c2, one - c0 - c1 - c2]


def remap_cubic(images: tuple[Any, ...], map_x: Any, map_y: Any) -> tuple[Any, ...]:
    """Sample images at ``(map_x, map_y)`` as ``cv2.remap(..., INTER_CUBIC)`` with a zero border.

    The weights are those of OpenCV 5 (exact sub-pixel offsets; OpenCV 4 rounded the offsets
    to 1/32 px); taps outside the image count as 0. All images share the maps, so the taps are computed once.

    Args:
        images: ``(N, H, W)`` float32 arrays.
        map_x, map_y: ``(N, H, W)`` float32 source coordinates.

    Returns:
        One ``(N, H, W)`` float32 array per image.
    """
    xp = get_xp(map_x)
    if xp is np:
        return tuple(_remap_cubic_cv2(im, map_x, map_y) for im in images)
    return remap_cubic_xp(images, map_x, map_y)


def _remap_cubic_cv2(image: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    import cv2

    out = np.empty_like(image)
    for i in range(image.shape[0]):
        out[i] = cv2.remap(image[i], map_x[i], map_y[i], cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out


def remap_cubic_xp(images: tuple[Any, ...], map_x: Any, map_y: Any) -> tuple[Any, ...]:
    """Array-module version of :func:`remap_cubic` (the one that runs on CuPy)."""
    xp = get_xp(map_x)
    n, h, w = map_x.shape
    limit = xp.float32(_MAP_LIMIT)
    map_x, map_y = xp.clip(map_x, -limit, limit), xp.clip(map_y, -limit, limit)
    fx, fy = xp.floor(map_x), xp.floor(map_y)
    wx, wy = _cubic_weights(map_x - fx), _cubic_weights(map_y - fy)
    ix, iy = fx.astype(xp.int64) - 1, fy.astype(xp.int64) - 1
    base = (xp.arange(n, dtype=xp.int64) * (h * w))[:, None, None]
    cols, col_w = [], []
    for j in range(4):
        x = ix + j
        cols.append(xp.clip(x, 0, w - 1))
        col_w.append(xp.where((x >= 0) & (x < w), wx[j], xp.float32(0)))
    flats = [im.reshape(-1) for im in images]
    sums = [xp.zeros((n, h, w), xp.float32) for _ in images]
    for i in range(4):
        y = iy + i
        row_w = xp.where((y >= 0) & (y < h), wy[i], xp.float32(0))
        row = base + xp.clip(y, 0, h - 1) * w
        for k, flat in enumerate(flats):
            acc = flat[row + cols[0]] * col_w[0]
            for j in range(1, 4):
                acc += flat[row + cols[j]] * col_w[j]
            sums[k] += row_w * acc
    return tuple(sums)


def median_filter(images: Any, size: int) -> Any:
    """Median over ``size x size`` windows with a replicated border, as ``cv2.medianBlur``."""
    xp = get_xp(images)
    if xp is np:
        import cv2

        out = np.empty_like(images)
        for i in range(images.shape[0]):
            out[i] = cv2.medianBlur(images[i], size)
        return out
    from cupyx.scipy import ndimage

    return ndimage.median_filter(images, size=(1, size, size), mode="nearest")


def box_mean(images: Any, size: int) -> Any:
    """Mean over ``size x size`` windows (odd ``size``) with a mirrored border, as ``cv2.blur``."""
    xp = get_xp(images)
    if xp is np:
        import cv2

        out = np.empty_like(images)
        for i in range(images.shape[0]):
            out[i] = cv2.blur(images[i], (size, size))
        return out
    return box_mean_xp(images, size)


def box_mean_xp(images: Any, size: int) -> Any:
    """Array-module version of :func:`box_mean` (the one that runs on CuPy)."""
    xp = get_xp(images)
    _, h, w = images.shape
    r = size // 2
    padded = xp.pad(images, ((0, 0), (r, r), (r, r)), mode="reflect")  # cv2's BORDER_REFLECT_101
    rows = sum(padded[:, :, k:k + w] for k in range(size))
    return sum(rows[:, k:k + h] for k in range(size)) * xp.float32(1 / (size * size))


def centered_gradient(images: Any) -> tuple[Any, Any]:
    """Central differences ``0.5 (f[x+1] - f[x-1])`` with a replicated border (``dx, dy``)."""
    xp = get_xp(images)
    half = xp.float32(0.5)
    right = xp.concatenate([images[:, :, 1:], images[:, :, -1:]], axis=2)
    left = xp.concatenate([images[:, :, :1], images[:, :, :-1]], axis=2)
    down = xp.concatenate([images[:, 1:], images[:, -1:]], axis=1)
    up = xp.concatenate([images[:, :1], images[:, :-1]], axis=1)
    return half * (right - left), half * (down - up)


def forward_gradient(images: Any) -> tuple[Any, Any]:
    """Forward differences ``f[x+1] - f[x]``, zero on the last column / row (``dx, dy``)."""
    xp = get_xp(images)
    dx = xp.zeros_like(images)
    dy = xp.zeros_like(images)
    dx[:, :, :-1] = images[:, :, 1:] - images[:, :, :-1]
    dy[:, :-1] = images[:, 1:] - images[:, :-1]
    return dx, dy


def divergence(px: Any, py: Any) -> Any:
    """Backward-difference divergence of ``(px, py)``, the adjoint of :func:`forward_gradient`."""
    div = px.copy()
    div[:, :, 1:] -= px[:, :, :-1]
    dyy = py.copy()
    dyy[:, 1:] -= py[:, :-1]
    return div + dyy
