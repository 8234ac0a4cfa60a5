"""Reading and writing still images (PNG, JPEG, PPM, ...) as uint8 RGB arrays."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..errors import ImageEncodeError, ImageReadError
from .atomic import atomic_write

__all__ = ["encode_image", "read_image", "write_image"]


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file into an ``(H, W, 3)`` uint8 RGB array (gray files are expanded).

    Raises:
        ImageReadError: the file is missing, unreadable, or not an image OpenCV can decode.
    """
    name = os.fspath(path)
    try:
        data = Path(name).read_bytes()
    except OSError as e:
        raise ImageReadError(name, f"cannot read: {e.strerror or e}") from e
    try:
        # OpenCV asserts on an empty buffer (and on some damaged ones) instead of returning None
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    except cv2.error:
        image = None
    if image is None:
        raise ImageReadError(name, "not a decodable image (empty, truncated or unknown format)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def encode_image(image: np.ndarray, suffix: str = ".jpg", quality: int = 95) -> bytes:
    """Encode an ``(H, W)`` gray or ``(H, W, 3)`` RGB uint8 image as the bytes of a ``suffix`` file.

    Args:
        image: uint8 pixels.
        suffix: the format, as a file extension (``.png``, ``.jpg``, ...).
        quality: JPEG quality, 0-100 (ignored by other formats).

    Raises:
        ImageEncodeError: ``image`` is not uint8 gray or RGB, or ``suffix`` is not an image format.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ImageEncodeError(f"images must be uint8 (H, W) or (H, W, 3), got {image.dtype} {image.shape}")
    pixels = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    suffix = suffix.lower()
    options = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if suffix in (".jpg", ".jpeg") else []
    try:
        ok, encoded = cv2.imencode(suffix, pixels, options)
    except cv2.error as e:
        raise ImageEncodeError(f"cannot encode an image as {suffix or 'no extension'!r}") from e
    if not ok:
        raise ImageEncodeError(f"OpenCV could not encode the image as {suffix!r}")
    return encoded.tobytes()


def write_image(path: str | os.PathLike, image: np.ndarray, quality: int = 95) -> None:
    """Encode an image by the file's extension (see :func:`encode_image`) and write it atomically.

    Raises:
        ImageEncodeError: ``image`` is not uint8 gray or RGB, or the extension is not an image format.
    """
    try:
        payload = encode_image(image, Path(path).suffix, quality)
    except ImageEncodeError as e:
        raise ImageEncodeError(f"{os.fspath(path)}: {e}") from e
    atomic_write(path, payload)
