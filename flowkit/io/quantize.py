"""Flow to uint8 images and back, the two-stream convention of denseflow and dense_flow."""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from ..errors import FlowError

__all__ = ["DEFAULT_BOUND", "dequantize", "quantize"]

DEFAULT_BOUND = 20.0  # px; displacements beyond it are clipped, as in the paper's flows


def quantize(flow: Any, bound: float = DEFAULT_BOUND) -> Any:
    """Map displacements in ``[-bound, bound]`` px to uint8, clipping outside.

    ``q = round(255 * (v + bound) / (2 * bound))`` with OpenCV's ``cvRound`` (round half to
    even), so 0 px maps to 128 and the step is ``2 * bound / 255`` px.

    Args:
        flow: float array of any shape (NumPy or CuPy), in pixels.
        bound: the clipping bound in pixels, > 0.

    Returns:
        uint8 array of the same shape.

    Example:
        >>> import numpy as np
        >>> quantize(np.array([-25.0, -20.0, 0.0, 20.0])).tolist()
        [0, 0, 128, 255]
    """
    _check_bound(bound)
    xp = get_xp(flow)
    scaled = 255.0 * (flow.astype(xp.float64) + bound) / (2.0 * bound)
    return xp.clip(xp.rint(scaled), 0, 255).astype(xp.uint8)


def dequantize(q: Any, bound: float = DEFAULT_BOUND) -> Any:
    """Pixels from quantised uint8 flow: ``q * 2 * bound / 255 - bound``, float32."""
    _check_bound(bound)
    xp = get_xp(q)
    return (q.astype(xp.float64) * (2.0 * bound / 255.0) - bound).astype(xp.float32)


def _check_bound(bound: float) -> None:
    if not bound > 0:
        raise FlowError(f"bound must be > 0 px, got {bound!r}")
