"""The on-disk contract of an extraction output folder, defined once for flowkit and its readers.

``OUT`` holds the bookkeeping files ``annotations.txt`` and ``annotations_flow.txt`` (a line
``<id> <count> -1`` per finished video, MMAction2's list format), ``index.jsonl`` (HDF5 only: a
JSON line per video naming its shard), ``failures.jsonl`` (a JSON line per failed video) and
``extract.json`` (the settings); the outputs, a rawframe folder ``OUT/<id>`` of
``{kind}_{i:05d}.jpg`` frames (1-based) and a ``meta.json``, or the HDF5 shards under
``shards/``; ``lists/`` for ``tsf lists``; and tsf's temporary folder and lock. Readers
(``fusionnet``) import these names rather than spell them again.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ExtractionError, OutputError

__all__ = [
    "ANNOTATIONS_NAME",
    "FAILURES_NAME",
    "FLOW_ANNOTATIONS_NAME",
    "FRAME_KINDS",
    "INDEX_NAME",
    "LINE_FILES",
    "LISTS_DIR",
    "LOCK_NAME",
    "META_NAME",
    "RESERVED_NAMES",
    "SETTINGS_NAME",
    "SHARDS_DIR",
    "TMP_DIR",
    "annotation_line",
    "failure_line",
    "frame_name",
    "index_line",
    "job_lock_name",
    "parse_annotation_line",
    "parse_frame_name",
    "parse_json_line",
    "read_lines",
    "read_meta",
    "repair_tail",
    "shard_name",
]

ANNOTATIONS_NAME = "annotations.txt"
# MMAction2 samples flow folders by the count in its list file: this one gives each video's flow count
FLOW_ANNOTATIONS_NAME = "annotations_flow.txt"
INDEX_NAME = "index.jsonl"
FAILURES_NAME = "failures.jsonl"
SETTINGS_NAME = "extract.json"
SHARDS_DIR = "shards"
LISTS_DIR = "lists"  # MMAction2 annotation files of the splits (tsf lists)
META_NAME = "meta.json"  # in each finished rawframe folder
TMP_DIR = ".tsf-tmp"  # a folder per job (job0of1/), and each job's claim lock beside it
LOCK_NAME = ".tsf.lock"  # serialises the bookkeeping of a cluster run's jobs
# the names tsf keeps for itself at the top of an output folder: no rawframe folder may take one
RESERVED_NAMES = (ANNOTATIONS_NAME, FLOW_ANNOTATIONS_NAME, INDEX_NAME, FAILURES_NAME, SETTINGS_NAME,
                  SHARDS_DIR, LISTS_DIR, TMP_DIR, LOCK_NAME)
FRAME_KINDS = ("img", "flow_x", "flow_y")
_FRAME = re.compile(r"^(img|flow_x|flow_y)_(\d{5,})\.jpg$")
_ANNOTATION = re.compile(r"^(.+) (\d+) (-?\d+)$")  # "<id> <count> <label>"; ids may hold spaces
_log = logging.getLogger(__name__)


def frame_name(kind: str, index: int) -> str:
    """``img_00001.jpg``, ``flow_x_00001.jpg`` ...: the file name of frame ``index`` (1-based).

    Raises:
        ExtractionError: ``kind`` is not one of :data:`FRAME_KINDS`.
    """
    if kind not in FRAME_KINDS:
        raise ExtractionError(f"unknown frame kind {kind!r}; choose one of {', '.join(FRAME_KINDS)}")
    return f"{kind}_{index:05d}.jpg"


def parse_frame_name(name: str) -> tuple[str, int]:
    """``(kind, index)`` of a file name that :func:`frame_name` built.

    Raises:
        ExtractionError: ``name`` is not such a name.
    """
    match = _FRAME.match(name)
    if match is None:
        raise ExtractionError(f"{name!r} is not a frame file name such as {frame_name('img', 1)!r}")
    return match.group(1), int(match.group(2))


def shard_name(job_tag: str, number: int) -> str:
    """``shards/job0of1-00000.h5``: the path, relative to OUT, of a job's shard ``number``."""
    return f"{SHARDS_DIR}/{job_tag}-{number:05d}.h5"


def job_lock_name(job_tag: str) -> str:
    """``job0of1.lock``: the claim lock of a job, beside its folder in :data:`TMP_DIR`."""
    return f"{job_tag}.lock"


def read_meta(video_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The meta.json of a finished video folder, or ``None`` when the folder is not finished."""
    try:
        return json.loads((Path(video_dir) / META_NAME).read_text())
    except (OSError, ValueError):
        return None


def _json(data: Any) -> str:
    return json.dumps(data, sort_keys=True)


def annotation_line(vid: str, count: int) -> str:
    """A line of :data:`ANNOTATIONS_NAME` or :data:`FLOW_ANNOTATIONS_NAME`: ``<id> <count> -1``."""
    return f"{vid} {count} -1"


def failure_line(vid: str, path: str, reason: str | None) -> str:
    """A line of :data:`FAILURES_NAME`: the video's id, source path and why it failed."""
    return _json({"id": vid, "path": path, "reason": reason})


def index_line(vid: str, shard: str, num_frames: int, step: int) -> str:
    """A line of :data:`INDEX_NAME`: the video's shard (relative to OUT) and its counts."""
    return _json({"id": vid, "shard": shard, "num_frames": num_frames, "num_flows": num_frames - step})


def parse_annotation_line(line: str) -> tuple[str, int, int]:
    """``(id, count, label)`` of an annotation line.

    Raises:
        ValueError: the line is not ``<id> <count> <label>``.
    """
    match = _ANNOTATION.match(line)
    if match is None:
        raise ValueError("not '<id> <count> <label>'")
    return match.group(1), int(match.group(2)), int(match.group(3))


def parse_json_line(line: str) -> dict[str, Any]:
    """The record of an index or failure line, whose ``"id"`` is a string.

    Raises:
        ValueError: the line is not JSON, or its id is not a string.
        KeyError: the line has no id.
    """
    record = json.loads(line)
    if not isinstance(record["id"], str):
        raise ValueError("the id is not a string")
    return record


# the bookkeeping files written a line per video, and how each line names its video
_LINE_IDS: dict[str, Callable[[str], str]] = {
    ANNOTATIONS_NAME: lambda line: parse_annotation_line(line)[0],
    FLOW_ANNOTATIONS_NAME: lambda line: parse_annotation_line(line)[0],
    INDEX_NAME: lambda line: parse_json_line(line)["id"],
    FAILURES_NAME: lambda line: parse_json_line(line)["id"],
}
LINE_FILES = tuple(_LINE_IDS)  # the files above, in the order a run repairs them


def read_lines(path: str | os.PathLike) -> dict[str, str]:
    """The lines of a bookkeeping file (:data:`ANNOTATIONS_NAME`, ...) by video id, the last of an
    id winning; a line that does not parse (torn by a crash) is skipped with a warning.

    Raises:
        OutputError: the file exists but cannot be read.
    """
    path = Path(path)
    parse = _LINE_IDS[path.name]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise OutputError(str(path), f"cannot read: {e.strerror or e}") from e
    lines: dict[str, str] = {}
    for number, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = raw.decode()
            lines[parse(line)] = line
        except (ValueError, KeyError, TypeError) as e:
            _log.warning("%s:%d: skipped a damaged line (%s): %r", path, number, e, raw[:80])
    return lines


def repair_tail(path: str | os.PathLike) -> None:
    """Cut a torn last line of a bookkeeping file (a crash mid-append), so that the next append
    starts a line of its own."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        _log.warning("%s: removed a torn last line (%d bytes) that a stopped run left", path, len(data) - keep)
        os.truncate(path, keep)
