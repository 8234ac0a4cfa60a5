"""The Middlebury colour-wheel picture of a flow field (Baker et al., IJCV 2011)."""

from __future__ import annotations

import numpy as np

from ..errors import FlowError

__all__ = ["flow_to_color"]


def _color_wheel() -> np.ndarray:
    """The 55 hues of the Middlebury wheel, RGB in 0..255 (red, yellow, green, cyan, blue, magenta)."""
    segments = [(15, (255, 0, 0), (255, 255, 0)), (6, (255, 255, 0), (0, 255, 0)),
                (4, (0, 255, 0), (0, 255, 255)), (11, (0, 255, 255), (0, 0, 255)),
                (13, (0, 0, 255), (255, 0, 255)), (6, (255, 0, 255), (255, 0, 0))]
    rows = []
    for count, start, end in segments:
        t = np.floor(255 * np.arange(count) / count)[:, None] / 255
        rows.append(np.array(start) * (1 - t) + np.array(end) * t)
    return np.concatenate(rows)


_WHEEL = _color_wheel()


def flow_to_color(flow: np.ndarray, max_flow: float | None = None) -> np.ndarray:
    """Colour-code a flow: hue is the direction, saturation the magnitude.

    Args:
        flow: ``(H, W, 2)`` float flow (x, y).
        max_flow: the magnitude shown at full saturation; ``None`` uses the largest finite
            magnitude in ``flow``. Larger magnitudes are darkened.

    Returns:
        ``(H, W, 3)`` uint8 RGB image; pixels with NaN, inf or |flow| > 1e9 (unknown in
        Middlebury files) are black.

    Raises:
        FlowError: ``flow`` is not ``(H, W, 2)`` or ``max_flow`` is not positive.
    """
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise FlowError(f"flow must be (H, W, 2), got shape {flow.shape}")
    if max_flow is not None and not max_flow > 0:
        raise FlowError(f"max_flow must be > 0, got {max_flow!r}")
    unknown = ~np.isfinite(flow).all(axis=2) | (np.abs(flow) > 1e9).any(axis=2)
    u = np.where(unknown, 0, flow[..., 0])
    v = np.where(unknown, 0, flow[..., 1])
    radius = np.hypot(u, v)
    scale = max_flow if max_flow is not None else radius.max()
    if scale > 0:
        radius = radius / scale
        u, v = u / scale, v / scale
    n = len(_WHEEL)
    angle = np.arctan2(-v, -u) / np.pi
    position = (angle + 1) / 2 * (n - 1)
    k0 = np.floor(position).astype(int)
    k1 = (k0 + 1) % n
    f = (position - k0)[..., None]
    color = ((1 - f) * _WHEEL[k0] + f * _WHEEL[k1]) / 255
    inside = (radius <= 1)[..., None]
    color = np.where(inside, 1 - radius[..., None] * (1 - color), color * 0.75)
    image = np.floor(255 * color).astype(np.uint8)
    image[unknown] = 0
    return image
