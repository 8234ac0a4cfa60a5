"""Writing MMAction2's rawframe layout: one folder per video of 1-based JPEG frames and a meta.json
(the names are those of :mod:`.layout`)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..io.atomic import atomic_write, writing
from .layout import META_NAME

__all__ = ["RawframeWriter"]


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
        with writing(self.tmp_dir):
            self.tmp_dir.mkdir(parents=True)

    def put(self, name: str, data: bytes) -> None:
        """Write one frame file (``name`` from :func:`~flowkit.extract.layout.frame_name`)."""
        path = self.tmp_dir / name
        with writing(path):
            path.write_bytes(data)

    def commit(self, meta: dict[str, Any]) -> None:
        """Write meta.json, then rename the folder to its final name (replacing an older one)."""
        meta_path = self.tmp_dir / META_NAME
        with writing(meta_path):
            atomic_write(meta_path, _json_bytes(meta))
        with writing(self.final_dir):
            self._move_into_place()

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


def _json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()
