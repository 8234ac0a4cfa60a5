"""HDF5 shards: many videos per file, each a group of JPEG frames stored as variable-length bytes.

Layout of a shard: one group per video id (ids with ``/`` give nested groups), holding the
datasets ``img``, ``flow_x`` and ``flow_y`` (1-D, variable-length uint8: the bytes of each
JPEG file, frame k at index k - 1; ``img`` is absent when RGB frames were not extracted) and the
video's meta.json fields as attributes (dicts, lists and nulls as JSON strings, named in the attribute
``tsf_json_fields``). Video groups carry the attribute ``tsf_video = 1``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ShardError
from ..io.atomic import create_temp, writing

__all__ = ["ShardVideo", "read_shard_video", "shard_index", "write_shard"]

_MARK = "tsf_video"
_JSON_KEYS = "tsf_json_fields"


@dataclass
class ShardVideo:
    """One video of a shard: its id, meta fields and frames (kind -> list of JPEG bytes)."""

    id: str
    meta: dict[str, Any]
    frames: dict[str, list[bytes]] = field(default_factory=dict)


def write_shard(path: str | os.PathLike, videos: Sequence[ShardVideo],
                tmp_dir: str | os.PathLike | None = None) -> None:
    """Write ``videos`` into a new shard at ``path``, in the order given, atomically.

    The file is written under a temporary name (beside ``path``, or in ``tmp_dir`` on the same
    file system) and renamed when closed, so a shard exists under its final name only when
    complete. The same videos give the same bytes.

    Raises:
        OutputError: the file cannot be written (full disk, permissions).
    """
    import h5py

    target = Path(path)
    with writing(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = create_temp(target.parent if tmp_dir is None else tmp_dir, target.name)
        try:
            with h5py.File(tmp, "w", libver=("earliest", "v110")) as f:
                for video in videos:
                    _write_video(f, video)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def _write_video(f: Any, video: ShardVideo) -> None:
    import h5py

    group = f.create_group(video.id)
    group.attrs[_MARK] = 1
    encoded = sorted(k for k, v in video.meta.items() if isinstance(v, (dict, list)) or v is None)
    group.attrs[_JSON_KEYS] = json.dumps(encoded)
    for key in sorted(video.meta):
        value = video.meta[key]
        group.attrs[key] = json.dumps(value, sort_keys=True) if key in encoded else value
    vlen = h5py.vlen_dtype(np.uint8)
    for kind in sorted(video.frames):
        frames = video.frames[kind]
        data = group.create_dataset(kind, (len(frames),), dtype=vlen)
        for i, payload in enumerate(frames):
            data[i] = np.frombuffer(payload, np.uint8)


def shard_index(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The videos of a shard, in file order: id -> meta fields (no frames are read).

    Raises:
        ShardError: the file is not a readable HDF5 shard.
    """
    import h5py

    found: dict[str, dict[str, Any]] = {}

    def visit(name: str, obj: Any) -> None:
        if _MARK in obj.attrs:
            found[name] = _meta(obj.attrs)

    try:
        with h5py.File(path, "r") as f:
            f.visititems(visit)
    except OSError as e:
        raise ShardError(os.fspath(path), f"not a readable HDF5 shard: {e}") from e
    return found


def _meta(attrs: Any) -> dict[str, Any]:
    encoded = set(json.loads(attrs[_JSON_KEYS]))
    return {k: _attr(v, k in encoded) for k, v in attrs.items() if k not in (_MARK, _JSON_KEYS)}


def read_shard_video(path: str | os.PathLike, video_id: str) -> ShardVideo:
    """One video of a shard, with its meta (JSON strings decoded back) and all its frames.

    Raises:
        ShardError: the file is not a readable shard or holds no video ``video_id``.
    """
    import h5py

    try:
        with h5py.File(path, "r") as f:
            group = f.get(video_id)
            if group is None or _MARK not in group.attrs:
                group = None
            else:
                meta = _meta(group.attrs)
                frames = {kind: [bytes(x) for x in group[kind][()]] for kind in group}
    except OSError as e:
        raise ShardError(os.fspath(path), f"not a readable HDF5 shard: {e}") from e
    if group is None:  # raised here, not in the block above, which would wrap it a second time
        raise ShardError(os.fspath(path), f"no video {video_id!r} in this shard")
    return ShardVideo(video_id, meta, frames)


def _attr(value: Any, encoded: bool) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if encoded:
        return json.loads(value)
    if isinstance(value, np.generic):
        return value.item()
    return value
