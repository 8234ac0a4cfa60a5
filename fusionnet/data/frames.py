"""Read the frames ``tsf extract-flow`` wrote, in either of its formats, by 0-based index.

:func:`open_frames` looks at a folder and returns a :class:`FrameStore`: a
:class:`RawframeStore` for rawframe folders (``annotations.txt`` and ``<id>/img_00001.jpg``,
``flow_x_00001.jpg``, ``flow_y_00001.jpg``, 1-based) or a :class:`ShardStore` for HDF5 shards
(``index.jsonl`` and ``shards/*.h5``, frame k at index k - 1). Both decode the JPEGs with OpenCV
into uint8 arrays: RGB frames ``(n, H, W, 3)`` and quantised flow ``(n, H, W, 2)`` (x, y).

The file names are flowkit's (:mod:`flowkit.extract`), which writes them.

Video ids (and shard paths) must stay inside the folder (:func:`fusionnet.data.unsafe_id`);
an index line that would read outside it is refused with its file and line.

Stores are cheap to pickle: a :class:`ShardStore` opens its HDF5 files on first use in each
process and never carries an open handle into a DataLoader worker.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from flowkit.extract import (
    ANNOTATIONS_NAME,
    FRAME_KINDS,
    INDEX_NAME,
    META_NAME,
    SHARDS_DIR,
    frame_name,
    read_meta,
)

from ..errors import DataError
from .files import read_text
from .splits import unsafe_id

__all__ = ["FrameStore", "RawframeStore", "ShardStore", "open_frames"]

_RGB, _FLOW_X, _FLOW_Y = FRAME_KINDS  # the kinds of frame files and of HDF5 datasets


class FrameStore:
    """The finished videos of an extraction, their frame counts, and their decoded frames.

    Subclasses provide ``_load(vid, kind, index)``: the JPEG bytes of one frame (0-based) of a kind
    of :data:`flowkit.extract.FRAME_KINDS` (``"img"``, ``"flow_x"``, ``"flow_y"``), and
    ``_where(vid, kind, index)``: where that frame lies
    (for messages); they fill ``_counts`` (id -> (frames, flows)) or override :meth:`num_flows`.
    """

    root: Path
    _counts: dict[str, tuple[int, int | None]]

    def ids(self) -> list[str]:
        """The finished videos, sorted."""
        return sorted(self._counts)

    def num_frames(self, vid: str) -> int:
        """N, the RGB frames of ``vid``."""
        return self._entry(vid)[0]

    def num_flows(self, vid: str) -> int:
        """The flow frames of ``vid``: N - step."""
        flows = self._entry(vid)[1]
        if flows is None:
            raise DataError(f"{self.root}: no flow count for {vid!r}")
        return flows

    def rgb(self, vid: str, indices: Sequence[int]) -> np.ndarray:
        """RGB frames at 0-based ``indices``, ``(n, H, W, 3)`` uint8.

        Raises:
            DataError: unknown video, an index out of range, or a frame that cannot be read.
        """
        self._check(vid, indices, self.num_frames(vid), "frame")
        return self._decode(vid, _RGB, indices, cv2.IMREAD_COLOR_RGB)

    def flow(self, vid: str, indices: Sequence[int]) -> np.ndarray:
        """Quantised flow at 0-based ``indices``, ``(n, H, W, 2)`` uint8, channels (x, y).

        Raises:
            DataError: unknown video, an index out of range, or a frame that cannot be read.
        """
        self._check(vid, indices, self.num_flows(vid), "flow")
        x = self._decode(vid, _FLOW_X, indices, cv2.IMREAD_GRAYSCALE)
        flow = np.empty((*x.shape, 2), np.uint8)
        flow[..., 0] = x
        self._decode(vid, _FLOW_Y, indices, cv2.IMREAD_GRAYSCALE, out=flow[..., 1])
        return flow

    def _load(self, vid: str, kind: str, index: int) -> bytes | np.ndarray:
        raise NotImplementedError

    def _where(self, vid: str, kind: str, index: int) -> str:
        raise NotImplementedError

    def _entry(self, vid: str) -> tuple[int, int | None]:
        try:
            return self._counts[vid]
        except KeyError:
            raise DataError(f"{self.root}: no finished video {vid!r}") from None

    def _check(self, vid: str, indices: Sequence[int], count: int, what: str) -> None:
        if len(indices) == 0:
            raise DataError(f"{self.root}: no {what} indices given for {vid!r}")
        bad = [int(i) for i in indices if not 0 <= int(i) < count]
        if bad:
            raise DataError(f"{self.root}: {what} index {bad[0]} out of range for {vid!r} "
                            f"({count} {what}s, 0-based)")

    def _decode(self, vid: str, kind: str, indices: Sequence[int], mode: int,
                out: np.ndarray | None = None) -> np.ndarray:
        """Decode frame ``indices[k]`` into ``out[k]`` (allocated from the first frame's size when None)."""
        first: dict[int, int] = {}  # frame -> the k it was decoded into: clamped clips repeat frames
        for k, i in enumerate(int(i) for i in indices):
            if i in first:
                out[k] = out[first[i]]
                continue
            data = self._load(vid, kind, i)
            try:
                image = cv2.imdecode(np.frombuffer(data, np.uint8), mode) if len(data) else None
            except cv2.error:  # some damaged files make OpenCV assert rather than return None
                image = None
            if image is None:
                raise DataError(f"{self._where(vid, kind, i)}: not a readable JPEG (empty, truncated or "
                                "damaged); extract this video again")
            if out is None:
                out = np.empty((len(indices), *image.shape), np.uint8)
            out[k] = image
            first[i] = k
        return out


class RawframeStore(FrameStore):
    """Rawframe folders: ``annotations.txt`` lists the finished videos, one folder each."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._counts = {}
        annotations = self.root / ANNOTATIONS_NAME
        for number, line in enumerate(read_text(annotations, DataError).splitlines(), 1):
            if line.strip():
                self._counts.update([_annotation(line, annotations, number)])

    def num_flows(self, vid: str) -> int:
        """The flow frames of ``vid``, from its meta.json (N - step)."""
        frames, flows = self._entry(vid)
        if flows is None:
            meta, path = read_meta(self.root / vid), self.root / vid / META_NAME
            if not isinstance(meta, dict):
                raise DataError(f"{path}: no valid num_flows (missing, unreadable or not a JSON object)")
            try:
                flows = int(meta["num_flows"])
            except (ValueError, KeyError, TypeError) as e:
                raise DataError(f"{path}: no valid num_flows ({e})") from e
            self._counts[vid] = (frames, flows)
        return flows

    def _where(self, vid: str, kind: str, index: int) -> str:
        return str(self.root / vid / frame_name(kind, index + 1))

    def _load(self, vid: str, kind: str, index: int) -> bytes:
        path = Path(self._where(vid, kind, index))
        try:
            return path.read_bytes()
        except OSError as e:
            hint = " (extracted with --no-rgb?)" if kind == _RGB else ""
            raise DataError(f"{path}: cannot read{hint}: {e.strerror or e}") from e


class ShardStore(FrameStore):
    """HDF5 shards: ``index.jsonl`` maps each finished video to its shard."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._counts = {}
        self._shard: dict[str, str] = {}
        index = self.root / INDEX_NAME
        for number, line in enumerate(read_text(index, DataError).splitlines(), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                    vid = str(row["id"])
                    self._counts[vid] = (int(row["num_frames"]), int(row["num_flows"]))
                    self._shard[vid] = str(row["shard"])
                except (ValueError, KeyError, TypeError) as e:
                    raise DataError(f"{index}:{number}: not an index line ({e}): {line[:80]!r}") from e
                problem = unsafe_id(self._shard[vid])
                if problem is not None:
                    raise DataError(f"{index}:{number}: shard path {self._shard[vid]!r} {problem}; shards "
                                    "lie inside the data folder")
        self._files: dict[str, Any] = {}  # shard -> open h5py.File, in process _pid only
        self._datasets: dict[tuple[str, str], Any] = {}  # (id, kind) -> h5py.Dataset, same process
        self._pid = os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        # h5py handles cannot be pickled; each process opens its own
        return {**self.__dict__, "_files": {}, "_datasets": {}, "_pid": None}

    def close(self) -> None:
        """Close the HDF5 files this process opened."""
        if self._pid == os.getpid():
            for f in self._files.values():
                f.close()
        self._files, self._datasets = {}, {}

    def _file(self, shard: str) -> Any:
        import h5py

        if self._pid != os.getpid():
            # a forked worker inherits the parent's handles: HDF5 state is not fork-safe, start afresh
            self._files, self._datasets, self._pid = {}, {}, os.getpid()
        f = self._files.get(shard)
        if f is None:
            path = self.root / shard
            try:
                f = h5py.File(path, "r")
            except OSError as e:
                raise DataError(f"{path}: cannot open HDF5 shard: {e}") from e
            self._files[shard] = f
        return f

    def _load(self, vid: str, kind: str, index: int) -> np.ndarray:
        return self._dataset(vid, kind)[index]

    def _where(self, vid: str, kind: str, index: int) -> str:
        return f"{self.root / self._shard[vid]}: {kind} frame {index + 1} of {vid!r}"

    def _dataset(self, vid: str, kind: str) -> Any:
        # opening a group and a dataset costs more than reading one frame: keep them
        f = self._file(self._shard[vid])  # first: in a new process it clears the caches
        data = self._datasets.get((vid, kind))
        if data is None:
            group = f.get(vid)
            if group is None or kind not in group:
                hint = " (extracted with --no-rgb?)" if kind == _RGB else ""
                raise DataError(f"{self.root / self._shard[vid]}: no {kind} frames for {vid!r}{hint}")
            data = self._datasets[(vid, kind)] = group[kind]
        return data


def open_frames(root: str | os.PathLike) -> FrameStore:
    """The frames under ``root``, whichever format ``tsf extract-flow`` wrote there.

    ``index.jsonl`` with a ``shards/`` folder means HDF5 shards (checked first: a shard output
    also has an ``annotations.txt``); ``annotations.txt`` alone means rawframe folders.

    Raises:
        DataError: the folder holds neither layout, or its index cannot be read.
    """
    folder = Path(root)
    if (folder / INDEX_NAME).is_file() and (folder / SHARDS_DIR).is_dir():
        return ShardStore(folder)
    if (folder / ANNOTATIONS_NAME).is_file():
        return RawframeStore(folder)
    raise DataError(f"{folder}: not an output of `tsf extract-flow` (no {INDEX_NAME} with {SHARDS_DIR}/, "
                    f"no {ANNOTATIONS_NAME}); pass the OUT folder of an extraction")


def _annotation(line: str, path: Path, number: int) -> tuple[str, tuple[int, None]]:
    # "<id> <num_frames> <label>"; ids may hold spaces, so split from the right
    parts = line.rsplit(maxsplit=2)
    try:
        vid, frames = parts[0], int(parts[1])
    except (IndexError, ValueError) as e:
        raise DataError(f"{path}:{number}: not an annotation line: {line[:80]!r}") from e
    problem = unsafe_id(vid)
    if problem is not None:
        raise DataError(f"{path}:{number}: video id {vid!r} {problem}; ids are paths inside the data folder")
    return vid, (frames, None)
