"""MMAction2's rawframe layout: one folder per video of 1-based JPEG frames and a meta.json."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from .atomic import atomic_write
from .errors import OutputError

__all__ = ["FRAME_KINDS", "META_NAME", "RawframeWriter", "frame_name", "read_meta"]

FRAME_KINDS = ("img", "flow_x", "flow_y")
META_NAME = "meta.json"


def frame_name(kind: str, index: int) -> str:
    """``img_00001.jpg``, ``flow_x_00001.jpg`` ...: the file name of frame ``index`` (1-based)."""
    if kind not in FRAME_KINDS:
        raise ValueError(f"unknown frame kind {kind!r}; choose one of {', '.join(FRAME_KINDS)}")
    return f"{kind}_{index:05d}.jpg"


def read_meta(video_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The meta.json of a finished video folder, or ``None`` when the folder is not finished."""
    try:
        return json.loads((Path(video_dir) / META_NAME).read_text())
    except (OSError, ValueError):
        return None


class RawframeWriter:
    """Write one video's frames under a temporary folder, then move the folder into place.

    A video folder therefore exists under its final name only when every frame and its
    meta.json are written: a crash at any moment leaves either the previous state or the
    whole video, never part of one.
    """

    def __init__(self, final_dir: str | os.PathLike, tmp_dir: str | os.PathLike) -> None:
        self.final_dir = Path(final_dir)
        self.tmp_dir = Path(tmp_dir)
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self._guard(self.tmp_dir, lambda: self.tmp_dir.mkdir(parents=True))

    def put(self, name: str, data: bytes) -> None:
        """Write one frame file (``name`` from :func:`frame_name`)."""
        path = self.tmp_dir / name
        self._guard(path, lambda: path.write_bytes(data))

    def commit(self, meta: dict[str, Any]) -> None:
        """Write meta.json, then rename the folder to its final name (replacing an older one)."""
        meta_path = self.tmp_dir / META_NAME
        self._guard(meta_path, lambda: atomic_write(meta_path, _json_bytes(meta)))
        self._guard(self.final_dir, self._move_into_place)

    def abort(self) -> None:
        """Remove the temporary folder."""
        shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def _move_into_place(self) -> None:
        self.final_dir.parent.mkdir(parents=True, exist_ok=True)
        if self.final_dir.exists():
            old = self.tmp_dir.with_name(self.tmp_dir.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(self.final_dir, old)
            os.replace(self.tmp_dir, self.final_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp_dir, self.final_dir)

    @staticmethod
    def _guard(path: Path, action: Any) -> None:
        try:
            action()
        except OSError as e:
            raise OutputError(str(path), f"cannot write: {e.strerror or e}") from e


def _json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
