"""Frame pairs with a known flow: a random texture seen through a chosen displacement field.

Used by the tests, the benchmarks and ``make demo``; nothing here is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..io.flo import write_flo
from ..io.images import write_image

__all__ = [
    "layered_pair",
    "moving_frames",
    "smooth_flow",
    "texture",
    "translation_flow",
    "warped_pair",
    "write_demo_videos",
    "write_pair",
    "write_video",
]


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


def layered_pair(height: int, width: int, seed: int = 0, max_px: float = 2.0,
                 shift: tuple[float, float] = (4.0, -3.0)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(prev, next, flow)``: a background moved by a smooth flow of up to ``max_px`` and an
    elliptical foreground of another texture moved by ``shift`` in front of it.

    ``prev(x, y) = next(x + u, y + v)`` wherever the point stays visible; background points that
    the foreground covers in ``next`` keep the background's flow, as in Sintel's ground truth.
    """
    background = smooth_flow(height, width, max_px=max_px, seed=seed)
    motion = translation_flow(height, width, *shift)
    prev_bg, next_bg = warped_pair(texture(height, width, seed), background)
    prev_fg, next_fg = warped_pair(texture(height, width, seed + 1), motion)
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    inside = lambda x, y: ((x - width / 2) / (width / 5)) ** 2 + ((y - height / 2) / (height / 5)) ** 2 <= 1
    front_next = inside(grid_x, grid_y)
    front_prev = inside(grid_x + shift[0], grid_y + shift[1])  # where next's foreground comes from
    flow = np.where(front_prev[..., None], motion, background)
    return np.where(front_prev, prev_fg, prev_bg), np.where(front_next, next_fg, next_bg), flow


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


def moving_frames(count: int, height: int, width: int, seed: int = 0,
                  velocity: tuple[float, float] = (1.5, 0.75)) -> np.ndarray:
    """``count`` RGB uint8 frames ``(count, H, W, 3)`` of a texture drifting by ``velocity`` px per frame."""
    margin = int(np.ceil(max(abs(velocity[0]), abs(velocity[1])) * count)) + 4
    big = texture(height + 2 * margin, width + 2 * margin, seed)
    frames = np.empty((count, height, width, 3), np.uint8)
    for t in range(count):
        shift = np.float32([[1, 0, margin - velocity[0] * t], [0, 1, margin - velocity[1] * t]])
        # translating the texture by -velocity * t shows it drifting by +velocity per frame
        moved = cv2.warpAffine(big, shift, (width + 2 * margin, height + 2 * margin),
                               flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
        gray = np.clip(np.rint(moved[margin:margin + height, margin:margin + width]), 0, 255)
        frames[t] = np.repeat(gray.astype(np.uint8)[..., None], 3, axis=2)
        frames[t, ..., 0] = np.clip(gray * 0.9 + 20, 0, 255).astype(np.uint8)
    return frames


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: int = 25, codec: str = "mpeg4",
                rotation: int | None = None, faststart: bool = False) -> Path:
    """Encode RGB uint8 frames ``(N, H, W, 3)`` into a video file with PyAV (even sizes for yuv420p).

    ``rotation`` (degrees) sets the stream's display-matrix rotation, as phone cameras record it;
    ``faststart`` puts an mp4's index before its frames, as files made for streaming have it.
    """
    import av

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(target), "w", options=options) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        if codec == "mpeg4":
            stream.bit_rate = 4_000_000
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")))
        container.mux(stream.encode())
    return target


def write_demo_videos(folder: str | os.PathLike, classes: int = 2, per_class: int = 2, frames: int = 12,
                      size: tuple[int, int] = (96, 128)) -> list[Path]:
    """A small UCF101-like folder of generated videos, ``<folder>/class<c>/v_class<c>_g<i>.avi``."""
    paths = []
    for c in range(classes):
        for i in range(per_class):
            velocity = (1.0 + c + 0.5 * i, (-1) ** c * (0.5 + 0.25 * i))
            clip = moving_frames(frames, *size, seed=10 * c + i, velocity=velocity)
            paths.append(write_video(Path(folder) / f"class{c}" / f"v_class{c}_g{i:02d}.avi", clip))
    return paths
