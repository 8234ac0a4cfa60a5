"""Extraction runs: video folders to RGB and flow JPEGs, as rawframe folders or HDF5 shards.

A run is resumable and safe to kill: a video counts as done only when all of its outputs are in
place (a rawframe folder is renamed into place complete; a shard is renamed when closed), and
the bookkeeping files (``annotations.txt``, ``index.jsonl``, ``failures.jsonl``) are appended
only after, then rewritten sorted when the run ends, so a killed and rerun extraction gives the
same bytes as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import ExtractionError, OutputBusyError, OutputConflictError, ShardError
from ..flow import MIN_SIZE, flow_backend
from ..io.atomic import atomic_write, writing
from .config import ExtractConfig, ExtractSummary, RunOptions, Task, VideoResult
from .layout import (
    ANNOTATIONS_NAME,
    FAILURES_NAME,
    FLOW_ANNOTATIONS_NAME,
    INDEX_NAME,
    LINE_FILES,
    LOCK_NAME,
    META_NAME,
    RESERVED_NAMES,
    SETTINGS_NAME,
    SHARDS_DIR,
    TMP_DIR,
    annotation_line,
    failure_line,
    index_line,
    job_lock_name,
    read_lines,
    read_meta,
    repair_tail,
    shard_name,
)
from .pipeline import run_in_process
from .pool import run_in_workers
from .shards import read_shard_video, shard_index, write_shard
from .video import VideoEntry

__all__ = ["check_outputs", "extract", "select_shard"]


def select_shard(entries: Sequence[VideoEntry], num_shards: int, shard_index: int) -> list[VideoEntry]:
    """This job's videos: video i of the id-sorted list goes to job ``i % num_shards``."""
    ordered = sorted(entries, key=lambda e: e.id)
    return [e for i, e in enumerate(ordered) if i % num_shards == shard_index]


def extract(
    entries: Sequence[VideoEntry],
    out: str | os.PathLike,
    config: ExtractConfig = ExtractConfig(),
    run: RunOptions = RunOptions(),
    on_result: Callable[[VideoResult], None] | None = None,
) -> ExtractSummary:
    """Extract RGB frames and quantised flow for ``entries`` into ``out``.

    Finished videos are skipped (unless ``run.overwrite``); failed videos are recorded in
    ``failures.jsonl`` and the run goes on (unless ``run.fail_fast``). Nothing that tsf did not
    make as a video's output in ``out`` is replaced, deleted or written into: a video whose output
    would land on a source path, another video's output or a bookkeeping file stops the run
    before any work.

    Args:
        entries: the videos (:func:`flowkit.find_videos` or :func:`flowkit.read_video_list`), all of
            them: each cluster job checks every video's output and takes its own share.
        out: output folder; created if missing.
        config: what to produce.
        run: processes, devices, cluster sharding, overwrite and fail-fast.
        on_result: called in this process for every video, as its outcome is known.

    Raises:
        ExtractionError: the output folder was made with other settings, or options conflict.
        OutputConflictError: a video's output would land on something tsf did not make for it.
        OutputBusyError: another run is working on the same job in ``out``.
        FlowError: the backend cannot run here or does not offer the method.
        OutputError: an output cannot be written (full disk, permissions); nothing half-written
            is counted as done.
    """
    start = time.perf_counter()
    backend = flow_backend(config.method, config.backend)
    if run.devices and backend != "cupy":
        raise ExtractionError(f"devices are for the cupy backend; the {backend} backend uses jobs")
    config = dataclasses.replace(config, backend=backend)
    out = Path(out)
    check_outputs(entries, out, config.format)
    mine = select_shard(entries, run.num_shards, run.shard_index)
    refused = {e.id: reason for e in mine if (reason := _refusal(e)) is not None}
    store = _Store(out, config, run)
    summary = ExtractSummary()

    def account(result: VideoResult) -> None:
        store.record(result)
        if result.status == "done":
            summary.done += 1
            summary.frames += result.num_frames
        else:
            summary.failed += 1
            summary.failures.append(result)
        _notify(on_result, result)

    try:
        store.open()
        finished = store.finished({e.id for e in mine})
        pending = []
        for entry in mine:
            if entry.id in refused:
                account(VideoResult(entry.id, str(entry.path), "failed", reason=refused[entry.id]))
            elif entry.id in finished and not run.overwrite:
                summary.skipped += 1
                _notify(on_result, VideoResult(entry.id, str(entry.path), "skipped",
                                               finished[entry.id]["num_frames"]))
            else:
                pending.append(entry)
        if not (run.fail_fast and summary.failed):
            if config.format == "hdf5":
                store.plan_chunks([e for e in mine if e.id not in refused], {e.id for e in pending})
            for result in _results(_tasks(pending, store, config, run), run, backend):
                account(result)
                if result.status == "failed" and run.fail_fast:
                    break
        store.close()
    finally:
        store.cleanup()
    summary.seconds = time.perf_counter() - start
    return summary


def check_outputs(entries: Sequence[VideoEntry], out: str | os.PathLike, format: str = "jpeg") -> None:
    """Refuse a run in which a video's output would land on something tsf did not make for it.

    A rawframe folder ``OUT/<id>`` may not take one of :data:`RESERVED_NAMES`, lie inside another
    video's output (``a`` and ``a/b``: in HDF5 too, where ids are nested groups), or replace
    anything at its path but a finished output of the same video (a source folder when SRC is
    OUT, a user's file). Videos done in ``out`` by earlier runs count as well as ``entries``.

    Raises:
        OutputConflictError: naming both paths.
    """
    out = Path(out)
    videos = {e.id: e for e in entries if _refusal(e) is None}
    known = {**{vid: out / vid for vid in _listed_ids(out, format)},
             **{vid: e.path for vid, e in videos.items()}}
    inner = {"/".join(vid.split("/")[:depth]): vid for vid in sorted(known, reverse=True)
             for depth in range(1, vid.count("/") + 1)}
    clear: set[str] = set()  # parents already checked (a class folder holds many videos)
    for vid in sorted(videos):
        source, parts = videos[vid].path, vid.split("/")
        if vid in inner:
            raise OutputConflictError(f"{source} and {known[inner[vid]]}: the output of {inner[vid]!r} would "
                                      f"lie inside the output of {vid!r}; rename one of them")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in clear:
                continue
            if parent in known or (format == "jpeg" and (out / parent / META_NAME).is_file()):
                raise OutputConflictError(
                    f"{source} and {known.get(parent, out / parent)}: the output of {vid!r} would lie "
                    f"inside the output of {parent!r}; rename one of them")
            clear.add(parent)
        if format != "jpeg":
            continue
        target = out / vid
        if parts[0] in RESERVED_NAMES or parts[0].startswith(".tsf"):
            raise OutputConflictError(f"{source} and {out / parts[0]}: the video's output folder would "
                                      f"take the name of tsf's own {parts[0]!r}; rename the video")
        if os.path.lexists(target) and not _is_output_of(target, vid):
            raise OutputConflictError(f"{source} and {target}: the video's output folder would replace "
                                      f"{target}, which tsf did not make for it; move one of them or "
                                      "choose another output folder")


def _is_output_of(folder: Path, vid: str) -> bool:
    """Whether ``folder`` is a finished rawframe folder that tsf wrote for video ``vid``."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    meta = read_meta(folder)
    return meta is not None and meta.get("id") == vid


def _refusal(entry: VideoEntry) -> str | None:
    """Why ``entry`` fails before it is opened, or ``None``: listing found it unusable, or its id
    cannot stand in a line of the bookkeeping files."""
    if entry.error is not None:
        return entry.error
    if any(ord(c) < 32 or ord(c) == 127 for c in entry.id):
        return "its name holds a control character (a newline?), which a line of annotations.txt cannot hold; rename it"
    try:
        entry.id.encode()
    except UnicodeEncodeError:
        return "its name is not valid UTF-8, which annotations.txt needs; rename it"
    return None


def _notify(callback: Callable[[VideoResult], None] | None, result: VideoResult) -> None:
    if callback is not None:
        callback(result)


def _tasks(pending: list[VideoEntry], store: _Store, config: ExtractConfig, run: RunOptions) -> list[Task]:
    # one video per task balances load best; batching across videos needs several per task
    per_task = 8 if config.pairs_per_call(MIN_SIZE, MIN_SIZE) > 1 else 1
    return [Task(tuple(pending[i:i + per_task]), str(store.out), str(store.tmp), config, run.strict)
            for i in range(0, len(pending), per_task)]


def _results(tasks: list[Task], run: RunOptions, backend: str) -> Iterator[VideoResult]:
    if run.jobs == 0 and not run.devices:
        for task in tasks:
            yield from run_in_process(task)
        return
    slots = [("cuda", d) for d in run.devices] if run.devices else [("cpu", run.jobs)] * run.jobs
    if backend == "cupy" and not run.devices:
        slots = [("cuda", 0)]
    yield from run_in_workers(tasks, slots)


class _Store:
    """The output folder: settings, finished-video detection, bookkeeping files and shards."""

    def __init__(self, out: Path, config: ExtractConfig, run: RunOptions) -> None:
        self.out = out
        self.config = config
        self.run = run
        self.tmp = out / TMP_DIR / run.job_tag
        self._claim: Any = None  # this job's lock on the folder, held for the whole run
        self._shard_of: dict[str, str] = {}  # every video in a shard of the folder -> that shard
        self._chunks: dict[str, _Chunk] = {}  # shard name -> the videos it waits for
        self._chunk_of: dict[str, str] = {}
        self._done: dict[str, int] = {}
        self._failures: dict[str, VideoResult] = {}
        self._handled: set[str] = set()  # videos whose lines this run decides

    def open(self) -> None:
        """Create the folder, claim this job in it, check or record its settings, clear this
        job's leftovers and repair bookkeeping files that a killed run left mid-line."""
        with writing(self.out):
            self.tmp.parent.mkdir(parents=True, exist_ok=True)
        self._claim_job()
        with writing(self.tmp):
            shutil.rmtree(self.tmp, ignore_errors=True)  # this job's own leftovers: the claim is ours
            self.tmp.mkdir()
        settings = self.config.settings()
        path = self.out / SETTINGS_NAME
        with self._lock():
            if path.exists() and not self.run.overwrite:
                try:
                    old = json.loads(path.read_text()).get("settings")
                except (OSError, ValueError) as e:
                    raise ExtractionError(f"{path}: unreadable ({e}); remove it or use --overwrite") from e
                if old != settings:
                    keys = sorted(k for k in settings.keys() | (old or {}).keys()
                                  if (old or {}).get(k) != settings.get(k))
                    raise ExtractionError(
                        f"{self.out} holds outputs made with other settings ({', '.join(keys)} differ); "
                        "use --overwrite or another output folder"
                    )
            record = {"settings": settings, "tsf_version": __version__}
            self._write(path, _json(record, indent=2))
            for name in LINE_FILES:
                with writing(self.out / name):
                    repair_tail(self.out / name)

    def _claim_job(self) -> None:
        path = self.tmp.with_name(job_lock_name(self.run.job_tag))
        with writing(path):
            handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "a process"
            handle.close()
            raise OutputBusyError(
                f"{self.out}: another tsf extract-flow run ({holder}) is working on job "
                f"{self.run.shard_index} of {self.run.num_shards} in this folder; wait for it to end, "
                "or use another output folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._claim = handle

    def finished(self, ids: set[str]) -> dict[str, dict[str, Any]]:
        """Meta of this job's videos already done: a complete folder, or a video in a shard."""
        found: dict[str, dict[str, Any]] = {}
        if self.config.format == "jpeg":
            for vid in sorted(ids):
                meta = read_meta(self.out / vid)
                if meta is not None:
                    found[vid] = meta
        else:
            for shard in sorted((self.out / SHARDS_DIR).glob("*.h5")):
                try:
                    contents = shard_index(shard)
                except ShardError as e:
                    raise ExtractionError(f"{e}; move it away, or delete it if it is not needed") from e
                for vid, meta in contents.items():
                    self._shard_of[vid] = shard.relative_to(self.out).as_posix()
                    if vid in ids:
                        found[vid] = meta
        for vid, meta in found.items():
            self._done[vid] = int(meta["num_frames"])
        self._handled.update(found)
        return found

    def record(self, result: VideoResult) -> None:
        """Account for one video's outcome: bookkeeping lines, and shards once complete."""
        self._handled.add(result.id)
        if result.status == "failed":
            self._failures[result.id] = result
            self._append(FAILURES_NAME, [_failure_line(result)])
        elif self.config.format == "jpeg":
            self._done[result.id] = result.num_frames
            self._append_done([result.id])
        if self.config.format == "hdf5":
            self._add_to_chunk(result)

    def close(self) -> None:
        """Write pending shards, then rewrite the bookkeeping files sorted, merging other jobs' lines."""
        for name in sorted(self._chunks):
            self._write_chunk(name)
        step = self.config.step
        with self._lock():
            self._merge(ANNOTATIONS_NAME, {v: annotation_line(v, n) for v, n in self._done.items()})
            self._merge(FLOW_ANNOTATIONS_NAME, {v: annotation_line(v, n - step) for v, n in self._done.items()})
            self._merge(FAILURES_NAME, {v: _failure_line(r) for v, r in self._failures.items()})
            if self.config.format == "hdf5":
                self._merge(INDEX_NAME, {v: index_line(v, self._shard_of[v], n, step) for v, n in self._done.items()})

    def cleanup(self) -> None:
        """Remove this job's temporary folder and claim (and the parent when no other job uses it)."""
        if self._claim is None:  # never claimed: what is there belongs to another run
            return
        shutil.rmtree(self.tmp, ignore_errors=True)
        Path(self._claim.name).unlink(missing_ok=True)
        self._claim.close()
        self._claim = None
        try:
            self.tmp.parent.rmdir()
        except OSError:
            pass

    def _add_to_chunk(self, result: VideoResult) -> None:
        name = self._chunk_of.get(result.id)
        if name is None:
            return
        chunk = self._chunks[name]
        chunk.waiting.discard(result.id)
        if result.status == "done":
            chunk.videos.append(result)
        if not chunk.waiting:
            self._write_chunk(name)

    def plan_chunks(self, mine: list[VideoEntry], pending: set[str]) -> None:
        """Give each pending video its shard: the one that holds it already (``--overwrite``
        replaces it there), else its place among this job's id-sorted videos, ``shard_videos`` a shard."""
        size = self.config.shard_videos
        for position, entry in enumerate(mine):
            if entry.id in pending:
                name = self._shard_of.get(entry.id) or shard_name(self.run.job_tag, position // size)
                self._chunks.setdefault(name, _Chunk(waiting=set())).waiting.add(entry.id)
                self._chunk_of[entry.id] = name

    def _write_chunk(self, name: str) -> None:
        chunk = self._chunks.pop(name)
        if not chunk.videos:
            return
        path = self.out / name
        videos = {r.id: r.payload for r in chunk.videos}
        with self._lock():  # a shard can hold another job's videos: its rewrite keeps every one
            if path.exists():
                for vid in shard_index(path):
                    videos.setdefault(vid, read_shard_video(path, vid))
            write_shard(path, [videos[v] for v in sorted(videos)], tmp_dir=self.tmp)
        new = sorted(r.id for r in chunk.videos)
        for result in chunk.videos:
            self._done[result.id] = result.num_frames
            self._shard_of[result.id] = name
        self._append_done(new)

    def _append_done(self, ids: list[str]) -> None:
        step = self.config.step
        if self.config.format == "hdf5":
            self._append(INDEX_NAME, [index_line(v, self._shard_of[v], self._done[v], step) for v in ids])
        self._append(ANNOTATIONS_NAME, [annotation_line(v, self._done[v]) for v in ids])
        self._append(FLOW_ANNOTATIONS_NAME, [annotation_line(v, self._done[v] - step) for v in ids])

    def _append(self, name: str, lines: list[str]) -> None:
        path = self.out / name
        with self._lock(), writing(path), open(path, "a") as f:
            f.writelines(line + "\n" for line in lines)

    def _merge(self, name: str, mine: dict[str, str]) -> None:
        """Rewrite ``name`` sorted: this run's lines for the videos it handled, others' kept."""
        lines = dict(mine)
        for vid, line in read_lines(self.out / name).items():
            if vid not in self._handled:
                lines.setdefault(vid, line)
        self._write(self.out / name, "".join(lines[v] + "\n" for v in sorted(lines)))

    def _write(self, path: Path, text: str) -> None:
        with writing(path):
            atomic_write(path, text.encode(), tmp_dir=self.tmp)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        # serialises bookkeeping between the array jobs of a cluster run sharing this folder
        with writing(self.out / LOCK_NAME):
            handle = open(self.out / LOCK_NAME, "a")
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class _Chunk:
    waiting: set[str]
    videos: list[VideoResult] = field(default_factory=list)


def _json(data: Any, indent: int | None = None) -> str:
    return json.dumps(data, indent=indent, sort_keys=True) + ("\n" if indent else "")


def _failure_line(result: VideoResult) -> str:
    return failure_line(result.id, result.path, result.reason)


def _listed_ids(out: Path, format: str) -> list[str]:
    """Videos that earlier runs finished in ``out``, as its bookkeeping lists them."""
    return list(read_lines(out / (ANNOTATIONS_NAME if format == "jpeg" else INDEX_NAME)))
