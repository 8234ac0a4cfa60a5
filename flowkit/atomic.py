"""Atomic file writes: readers see the old file or the whole new one, never a part."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike, payload: bytes, tmp_dir: str | os.PathLike | None = None) -> None:
    """Write ``payload`` to a temporary file, flush it, then rename it over ``path``.

    The temporary file lies beside ``path``, or in ``tmp_dir`` (which must be on the same file
    system) so that one cleanup of that folder removes what a killed process left.
    """
    target = Path(path)
    folder = target.parent if tmp_dir is None else Path(tmp_dir)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
