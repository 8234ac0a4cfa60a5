"""Frame pairs with a known flow: a random texture seen through a chosen displacement field.

Used by the tests, the benchmarks and ``make demo``; nothing here is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .flo import write_flo
from .images import write_image

__all__ = ["smooth_flow", "texture", "translation_flow", "warped_pair", "write_pair"]


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A random multi-scale texture, float32 in 0..255, with detail at every scale TV-L1 uses."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width), np.float64)
    for sigma, weight in ((1.0, 0.35), (3.0, 0.35), (8.0, 0.3)):
        layer = cv2.GaussianBlur(rng.standard_normal((height, width)), (0, 0), sigma)
        image += weight * layer / layer.std()
    image = (image - image.min()) / (image.max() - image.min())
    return (255 * image).astype(np.float32)


def translation_flow(height: int, width: int, dx: float, dy: float) -> np.ndarray:
    """The same displacement ``(dx, dy)`` at every pixel, ``(H, W, 2)`` float32."""
    return np.broadcast_to(np.float32([dx, dy]), (height, width, 2)).copy()


def smooth_flow(height: int, width: int, max_px: float = 3.0, seed: int = 0) -> np.ndarray:
    """A smooth random displacement field whose largest magnitude is ``max_px``, ``(H, W, 2)`` float32."""
    rng = np.random.default_rng(seed)
    sigma = max(height, width) / 6
    field = np.stack([cv2.GaussianBlur(rng.standard_normal((height, width)), (0, 0), sigma)
                      for _ in range(2)], axis=2)
    field *= max_px / np.linalg.norm(field, axis=2).max()
    return field.astype(np.float32)


def warped_pair(image: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``(prev, next)`` such that ``prev(x, y) = next(x + u, y + v)`` with ``next = image``.

    ``prev`` is sampled from ``image`` bicubically with a mirrored border; both are rounded to
    uint8 as a camera would store them.
    """
    height, width = image.shape
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    prev = cv2.remap(image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REFLECT_101)
    to_uint8 = lambda a: np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return to_uint8(prev), to_uint8(image)


def write_pair(folder: str | os.PathLike, width: int = 256, height: int = 192, seed: int = 0) -> Path:
    """Write ``frame0.png``, ``frame1.png`` and the true flow ``truth.flo`` into ``folder``.

    The pair is a smooth random motion of up to 4 px over a random texture. Returns the folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    flow = smooth_flow(height, width, max_px=4.0, seed=seed)
    prev, nxt = warped_pair(texture(height, width, seed), flow)
    write_image(folder / "frame0.png", np.repeat(prev[..., None], 3, axis=2))
    write_image(folder / "frame1.png", np.repeat(nxt[..., None], 3, axis=2))
    write_flo(folder / "truth.flo", flow)
    return folder
