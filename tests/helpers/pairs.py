"""Frame pairs with a known flow."""

from __future__ import annotations

import numpy as np

from flowkit.datasets.known_flow import smooth_flow, texture, translation_flow, warped_pair

__all__ = ["make_pair"]


def make_pair(height: int = 64, width: int = 80, seed: int = 0, max_px: float = 2.0,
              shift: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(prev, next, truth)``: a textured uint8 pair moved by a smooth flow or a translation."""
    if shift is None:
        flow = smooth_flow(height, width, max_px=max_px, seed=seed)
    else:
        flow = translation_flow(height, width, *shift)
    prev, nxt = warped_pair(texture(height, width, seed), flow)
    return prev, nxt, flow
