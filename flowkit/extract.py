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
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._version import __version__
from .atomic import atomic_write
from .errors import ExtractionError, OutputError, VideoError
from .flow import flow_backend, flow_params
from .quantize import DEFAULT_BOUND
from .rawframes import read_meta
from .shards import ShardVideo, read_shard_video, shard_index, write_shard
from .tvl1 import MIN_SIZE
from .video import Resize, VideoEntry

__all__ = [
    "ANNOTATIONS_NAME",
    "FAILURES_NAME",
    "FORMATS",
    "GPU_BATCH_PIXELS",
    "INDEX_NAME",
    "SETTINGS_NAME",
    "ExtractConfig",
    "ExtractSummary",
    "RunOptions",
    "VideoResult",
    "extract",
    "select_shard",
]

# frame pixels of one GPU flow call when the batch is not set: 128 pairs at 340x256, where the fused
# TV-L1 reached its full rate on an H100 (benchmarks/gpu_flow_speed.py; README), fewer for larger frames
GPU_BATCH_PIXELS = 128 * 340 * 256

FORMATS = ("jpeg", "hdf5")
ANNOTATIONS_NAME = "annotations.txt"
INDEX_NAME = "index.jsonl"
FAILURES_NAME = "failures.jsonl"
SETTINGS_NAME = "extract.json"
SHARDS_DIR = "shards"
_TMP_DIR = ".tsf-tmp"
_LOCK_NAME = ".tsf.lock"


@dataclass(frozen=True)
class ExtractConfig:
    """What an extraction produces; stored as ``extract.json`` in the output folder.

    Attributes:
        method: flow method (``"tvl1"``, or any of :data:`flowkit.METHODS`).
        backend: flow backend (``"auto"``, ``"opencv"``, ``"numpy"``, ``"cupy"``).
        preset: parameter preset of the method; ``None`` for its defaults.
        step: flow from frame t to frame t + step.
        bound: displacements are clipped at +-bound px before quantisation.
        resize: how frames are resized before flow (the RGB output uses the same frames).
        format: ``"jpeg"`` (MMAction2 rawframe folders) or ``"hdf5"`` (shards).
        quality: JPEG quality of every frame, 0-100.
        rgb: also write the RGB frames.
        batch_pairs: frame pairs per flow call (across videos when videos are short); ``None``
            picks 1 on the CPU and, on the GPU, :data:`GPU_BATCH_PIXELS` worth of frames (see
            :meth:`pairs_per_call`).
        shard_videos: videos per HDF5 shard.
    """

    method: str = "tvl1"
    backend: str = "auto"
    preset: str | None = None
    step: int = 1
    bound: float = DEFAULT_BOUND
    resize: Resize = field(default_factory=Resize)
    format: str = "jpeg"
    quality: int = 95
    rgb: bool = True
    batch_pairs: int | None = None
    shard_videos: int = 64

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ExtractionError(f"unknown format {self.format!r}; choose one of {', '.join(FORMATS)}")
        if self.step < 1:
            raise ExtractionError(f"step must be at least 1, got {self.step}")
        if not self.bound > 0:
            raise ExtractionError(f"bound must be > 0 px, got {self.bound}")
        if not 0 <= self.quality <= 100:
            raise ExtractionError(f"JPEG quality must be in 0..100, got {self.quality}")
        if self.batch_pairs is not None and self.batch_pairs < 1:
            raise ExtractionError(f"batch of frame pairs must be at least 1, got {self.batch_pairs}")
        if self.shard_videos < 1:
            raise ExtractionError(f"videos per shard must be at least 1, got {self.shard_videos}")
        flow_params(self.method, self.preset)

    def params(self) -> dict[str, Any]:
        """The flow parameters this configuration runs with, as a JSON-ready dict."""
        return flow_params(self.method, self.preset).to_dict()

    def pairs_per_call(self, height: int, width: int) -> int:
        """Frame pairs per flow call for ``height`` x ``width`` frames: ``batch_pairs`` when set."""
        if self.batch_pairs is not None:
            return self.batch_pairs
        return max(1, GPU_BATCH_PIXELS // (height * width)) if self.backend == "cupy" else 1

    def settings(self) -> dict[str, Any]:
        """Everything that decides the output bytes (not the backend, nor parallelism)."""
        return {
            "format": self.format, "method": self.method, "params": self.params(),
            "step": self.step, "bound": self.bound, "quality": self.quality, "rgb": self.rgb,
            "resize": {"short_side": self.resize.short_side,
                       "size": list(self.resize.size) if self.resize.size else None},
            "shard_videos": self.shard_videos if self.format == "hdf5" else None,
        }


@dataclass(frozen=True)
class RunOptions:
    """How a run is spread over processes, devices and cluster jobs.

    Attributes:
        jobs: worker processes for CPU backends; 0 runs in the calling process (no isolation
            from crashes in decoders; for debugging). Processes are started with ``spawn``: a
            script that calls :func:`extract` needs the ``if __name__ == "__main__":`` guard.
        devices: CUDA device ids for the cupy backend, one worker process each.
        num_shards, shard_index: this job takes video i of the sorted list when
            ``i % num_shards == shard_index`` (cluster array jobs).
        overwrite: redo finished videos too.
        fail_fast: stop at the first failed video.
    """

    jobs: int = 1
    devices: tuple[int, ...] = ()
    num_shards: int = 1
    shard_index: int = 0
    overwrite: bool = False
    fail_fast: bool = False

    def __post_init__(self) -> None:
        if self.jobs < 0:
            raise ExtractionError(f"jobs must be 0 or more, got {self.jobs}")
        if self.num_shards < 1 or not 0 <= self.shard_index < self.num_shards:
            raise ExtractionError(
                f"shard index must be in 0..{self.num_shards - 1} for {self.num_shards} shards, got {self.shard_index}"
            )
        if len(set(self.devices)) != len(self.devices) or any(d < 0 for d in self.devices):
            raise ExtractionError(f"devices must be distinct ids >= 0, got {list(self.devices)}")

    @property
    def job_tag(self) -> str:
        """``job0of1``: names this job's HDF5 shards and temporary folder."""
        return f"job{self.shard_index}of{self.num_shards}"


@dataclass
class VideoResult:
    """The outcome of one video: ``status`` is ``"done"``, ``"skipped"`` (done before) or ``"failed"``."""

    id: str
    path: str
    status: str
    num_frames: int = 0
    reason: str | None = None
    meta: dict[str, Any] | None = None
    payload: ShardVideo | None = dataclasses.field(default=None, repr=False)


@dataclass
class ExtractSummary:
    """Counts of a finished run."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    frames: int = 0
    seconds: float = 0.0
    failures: list[VideoResult] = field(default_factory=list)

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


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
    ``failures.jsonl`` and the run goes on (unless ``run.fail_fast``).

    Args:
        entries: the videos (:func:`flowkit.find_videos` or :func:`flowkit.read_video_list`).
        out: output folder; created if missing.
        config: what to produce.
        run: processes, devices, cluster sharding, overwrite and fail-fast.
        on_result: called in this process for every video, as its outcome is known.

    Raises:
        ExtractionError: the output folder was made with other settings, or options conflict.
        FlowError: the backend cannot run here or does not offer the method.
        OutputError: an output cannot be written (full disk, permissions); nothing half-written
            is counted as done.
    """
    start = time.perf_counter()
    backend = flow_backend(config.method, config.backend)
    if run.devices and backend != "cupy":
        raise ExtractionError(f"devices are for the cupy backend; the {backend} backend uses jobs")
    config = dataclasses.replace(config, backend=backend)
    mine = select_shard(entries, run.num_shards, run.shard_index)
    store = _Store(Path(out), config, run)
    summary = ExtractSummary()
    try:
        store.open()
        finished = {} if run.overwrite else store.finished({e.id for e in mine})
        for entry in mine:
            if entry.id in finished:
                result = VideoResult(entry.id, str(entry.path), "skipped", finished[entry.id]["num_frames"])
                summary.skipped += 1
                _notify(on_result, result)
        pending = [e for e in mine if e.id not in finished]
        if config.format == "hdf5":
            store.plan_chunks(mine, {e.id for e in pending})
        tasks = _tasks(pending, store, config)
        for result in _results(tasks, run, backend):
            store.record(result)
            if result.status == "done":
                summary.done += 1
                summary.frames += result.num_frames
            else:
                summary.failed += 1
                summary.failures.append(result)
            _notify(on_result, result)
            if result.status == "failed" and run.fail_fast:
                break
        store.close(mine)
    finally:
        store.cleanup()
    summary.seconds = time.perf_counter() - start
    return summary


def _notify(callback: Callable[[VideoResult], None] | None, result: VideoResult) -> None:
    if callback is not None:
        callback(result)


@dataclass(frozen=True)
class _Task:
    """Videos one worker processes in a row (several when their frame pairs are batched together)."""

    entries: tuple[VideoEntry, ...]
    out: str
    tmp: str
    config: ExtractConfig


def _tasks(pending: list[VideoEntry], store: _Store, config: ExtractConfig) -> list[_Task]:
    # one video per task balances load best; batching across videos needs several per task
    per_task = 8 if config.pairs_per_call(MIN_SIZE, MIN_SIZE) > 1 else 1
    return [_Task(tuple(pending[i:i + per_task]), str(store.out), str(store.tmp), config)
            for i in range(0, len(pending), per_task)]


def _results(tasks: list[_Task], run: RunOptions, backend: str) -> Iterator[VideoResult]:
    from .workers import run_in_process, run_in_workers

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
        self.tmp = out / _TMP_DIR / run.job_tag
        self._shard_of: dict[str, str] = {}
        self._chunks: dict[int, _Chunk] = {}
        self._chunk_of: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._failures: dict[str, VideoResult] = {}

    def open(self) -> None:
        """Create the folder, check or record its settings, clear this job's leftovers."""
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp.mkdir(parents=True)
        except OSError as e:
            raise OutputError(str(self.out), f"cannot write: {e.strerror or e}") from e
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
                except VideoError as e:
                    raise ExtractionError(f"{e}; delete it or use --overwrite") from e
                for vid, meta in contents.items():
                    if vid in ids:
                        found[vid] = meta
                        self._shard_of[vid] = shard.relative_to(self.out).as_posix()
        for vid, meta in found.items():
            self._done[vid] = int(meta["num_frames"])
        return found

    def record(self, result: VideoResult) -> None:
        """Account for one video's outcome: bookkeeping lines, and shards once complete."""
        if result.status == "failed":
            self._failures[result.id] = result
            self._append(FAILURES_NAME, [_failure_line(result)])
        elif self.config.format == "jpeg":
            self._done[result.id] = result.num_frames
            self._append(ANNOTATIONS_NAME, [_annotation_line(result.id, result.num_frames)])
        if self.config.format == "hdf5":
            self._add_to_chunk(result)

    def close(self, mine: list[VideoEntry]) -> None:
        """Write pending shards, then rewrite the bookkeeping files sorted, merging other jobs' lines."""
        for index in sorted(self._chunks):
            self._write_chunk(index)
        ids = {e.id for e in mine}
        with self._lock():
            self._merge(ANNOTATIONS_NAME, ids, {v: _annotation_line(v, n) for v, n in self._done.items()},
                        key=lambda line: line.rsplit(" ", 2)[0])
            self._merge(FAILURES_NAME, ids, {v: _failure_line(r) for v, r in self._failures.items()},
                        key=lambda line: json.loads(line)["id"])
            if self.config.format == "hdf5":
                lines = {v: _index_line(v, self._shard_of[v], n, self.config.step) for v, n in self._done.items()}
                self._merge(INDEX_NAME, ids, lines, key=lambda line: json.loads(line)["id"])

    def cleanup(self) -> None:
        """Remove this job's temporary folder (and the parent when no other job uses it)."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        try:
            self.tmp.parent.rmdir()
        except OSError:
            pass

    def _add_to_chunk(self, result: VideoResult) -> None:
        index = self._chunk_of.get(result.id)
        if index is None:
            return
        chunk = self._chunks[index]
        chunk.waiting.discard(result.id)
        if result.status == "done":
            chunk.videos.append(result)
        if not chunk.waiting:
            self._write_chunk(index)

    def plan_chunks(self, mine: list[VideoEntry], pending: set[str]) -> None:
        """Group this job's id-sorted videos into shards of ``shard_videos``; note those to write."""
        size = self.config.shard_videos
        for start in range(0, len(mine), size):
            ids = [e.id for e in mine[start:start + size]]
            todo = {v for v in ids if v in pending}
            if todo:
                index = start // size
                self._chunks[index] = _Chunk(waiting=todo)
                for vid in todo:
                    self._chunk_of[vid] = index

    def _shard_name(self, index: int) -> str:
        return f"{SHARDS_DIR}/{self.run.job_tag}-{index:05d}.h5"

    def _write_chunk(self, index: int) -> None:
        chunk = self._chunks.pop(index)
        if not chunk.videos:
            return
        name = self._shard_name(index)
        path = self.out / name
        videos = {r.id: r.payload for r in chunk.videos}
        if path.exists() and not self.run.overwrite:
            for vid in shard_index(path):
                videos.setdefault(vid, read_shard_video(path, vid))
        write_shard(path, [videos[v] for v in sorted(videos)], tmp_dir=self.tmp)
        new = sorted(r.id for r in chunk.videos)
        for result in chunk.videos:
            self._done[result.id] = result.num_frames
            self._shard_of[result.id] = name
        self._append(INDEX_NAME, [_index_line(v, name, self._done[v], self.config.step) for v in new])
        self._append(ANNOTATIONS_NAME, [_annotation_line(v, self._done[v]) for v in new])

    def _append(self, name: str, lines: list[str]) -> None:
        path = self.out / name
        with self._lock():
            try:
                with open(path, "a") as f:
                    f.writelines(line + "\n" for line in lines)
            except OSError as e:
                raise OutputError(str(path), f"cannot write: {e.strerror or e}") from e

    def _merge(self, name: str, ids: set[str], mine: dict[str, str], key: Callable[[str], str]) -> None:
        path = self.out / name
        lines = dict(mine)
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    vid = key(line)
                    if vid not in ids:
                        lines.setdefault(vid, line)
        self._write(path, "".join(lines[v] + "\n" for v in sorted(lines)))

    def _write(self, path: Path, text: str) -> None:
        try:
            atomic_write(path, text.encode(), tmp_dir=self.tmp)
        except OSError as e:
            raise OutputError(str(path), f"cannot write: {e.strerror or e}") from e

    @contextmanager
    def _lock(self) -> Iterator[None]:
        # serialises bookkeeping between the array jobs of a cluster run sharing this folder
        try:
            handle = open(self.out / _LOCK_NAME, "a")
        except OSError as e:
            raise OutputError(str(self.out / _LOCK_NAME), f"cannot write: {e.strerror or e}") from e
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


def _annotation_line(vid: str, num_frames: int) -> str:
    return f"{vid} {num_frames} -1"


def _failure_line(result: VideoResult) -> str:
    return _json({"id": result.id, "path": result.path, "reason": result.reason})


def _index_line(vid: str, shard: str, num_frames: int, step: int) -> str:
    return _json({"id": vid, "shard": shard, "num_frames": num_frames, "num_flows": num_frames - step})

