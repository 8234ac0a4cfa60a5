"""One extraction worker: a task's videos decoded, solved, encoded and written, overlapped.

In a worker, decoding (a thread per video, ahead of use), flow (a thread of its own, with the
next batch queued behind the one it solves while a third is gathered) and JPEG encoding and
writing (a thread pool) overlap, so the flow backend neither waits for I/O nor for the batch
after. Frame pairs are batched, across videos when videos are short; a batch's distinct frames
are stacked once, and with the cupy backend they are uploaded as uint8 and converted to gray,
solved and quantised on the device, so only uint8 images cross the bus. :mod:`.pool` runs
workers in processes of their own.
"""

from __future__ import annotations

import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..backend import to_numpy
from ..errors import VideoError
from ..flow import MIN_SIZE, compute_flow, flow_params
from ..io.images import encode_image
from ..io.quantize import quantize
from .config import Task, VideoResult
from .layout import frame_name, parse_frame_name
from .rawframes import RawframeWriter
from .shards import ShardVideo
from .video import VideoEntry, VideoReader

__all__ = ["WRITER_THREADS", "distinct_frames", "run_in_process"]

_MAX_WRITES = 256  # encodes in flight per worker: bounds the memory held by frames awaiting I/O
WRITER_THREADS = 2  # JPEG encoding and writing threads per worker (OpenCV's encoder releases the GIL)


def run_in_process(task: Task, should_stop: Callable[[], bool] = lambda: False) -> Iterator[VideoResult]:
    """Process a task's videos in this process, yielding each outcome as it is known."""
    yield from _Processor(task, should_stop).run()


class _MemorySink:
    """Collects a video's encoded frames for an HDF5 shard (written by the coordinating process)."""

    def __init__(self) -> None:
        self.frames: dict[str, dict[int, bytes]] = {}

    def put(self, name: str, data: bytes) -> None:
        kind, index = parse_frame_name(name)
        self.frames.setdefault(kind, {})[index] = data

    def payload(self, vid: str, meta: dict[str, Any]) -> ShardVideo:
        frames = {kind: [found[i] for i in sorted(found)] for kind, found in self.frames.items()}
        return ShardVideo(vid, meta, frames)

    def abort(self) -> None:
        self.frames.clear()


class _Video:
    """A video in flight: decoded frames counted, flows computed, writes pending."""

    def __init__(self, entry: VideoEntry, sink: Any) -> None:
        self.entry = entry
        self.sink = sink
        self.reader: VideoReader | None = None
        self.num_frames = 0
        self.flows = 0
        self.decoded = False
        self.error: str | None = None
        self.writes: list[Future] = []


class _Processor:
    """Runs one task: its videos in order, frame pairs batched, outputs written as they come."""

    def __init__(self, task: Task, should_stop: Callable[[], bool]) -> None:
        self.task = task
        self.config = task.config
        self.params = flow_params(self.config.method, self.config.preset)
        self.should_stop = should_stop
        self.pairs: list[tuple[_Video, int, np.ndarray, np.ndarray]] = []
        self.in_flight: deque[tuple[list[tuple[_Video, int, np.ndarray, np.ndarray]], Future]] = deque()
        self.open: list[_Video] = []
        self.writes: deque[Future] = deque()
        self.pool: ThreadPoolExecutor | None = None
        self.flow_thread: ThreadPoolExecutor | None = None

    def run(self) -> Iterator[VideoResult]:
        with (ThreadPoolExecutor(max_workers=WRITER_THREADS, thread_name_prefix="tsf-write") as pool,
              ThreadPoolExecutor(max_workers=1, thread_name_prefix="tsf-flow",
                                 initializer=_same_device, initargs=_current_device(self.config.backend))
              as flow_thread):
            self.pool, self.flow_thread = pool, flow_thread
            try:
                for entry in self.task.entries:
                    if self.should_stop():
                        return
                    yield from self._feed(entry)
                yield from self._flush()
                yield from self._collect(0)
            finally:
                for _, future in self.in_flight:  # stopped early: drop the batches not started
                    future.cancel()
                for video in self.open:
                    self._drain(video)
                    video.sink.abort()

    def _feed(self, entry: VideoEntry) -> Iterator[VideoResult]:
        try:
            reader = VideoReader(entry.path, self.config.resize)
        except VideoError as e:
            yield VideoResult(entry.id, str(entry.path), "failed", reason=e.reason)
            return
        video = _Video(entry, self._sink(entry))
        video.reader = reader
        self.open.append(video)
        step = self.config.step
        window: deque[np.ndarray] = deque(maxlen=step + 1)
        with reader:
            try:
                for frame in reader:
                    video.num_frames += 1
                    if video.num_frames == 1 and min(frame.shape[:2]) < MIN_SIZE:
                        video.error = (f"frames are {frame.shape[1]}x{frame.shape[0]} after resizing; "
                                       f"flow needs at least {MIN_SIZE}x{MIN_SIZE}")
                        break
                    if self.config.rgb:
                        self._write(video, "img", video.num_frames, frame)
                    window.append(frame)
                    if len(window) == step + 1:
                        if self.pairs and self.pairs[0][2].shape != frame.shape:
                            yield from self._flush()
                        self.pairs.append((video, video.num_frames - step, window[0], frame))
                        if len(self.pairs) >= self.config.pairs_per_call(*frame.shape[:2]):
                            yield from self._flush()
            except VideoError as e:
                video.error = e.reason
        video.decoded = True
        if video.error is None and video.num_frames < step + 1:
            video.error = (f"decoded {video.num_frames} frame(s); flow with step {step} "
                           f"needs at least {step + 1}")
        if video.error is None and reader.decode_errors and self.task.strict:
            video.error = f"the decoder reported errors (--strict fails such videos): {'; '.join(reader.decode_errors)}"
        if video.error is not None:
            yield self._fail(video)
        else:
            yield from self._finish_ready()

    def _sink(self, entry: VideoEntry) -> Any:
        if self.config.format == "hdf5":
            return _MemorySink()
        # a fixed-length name: the id itself can be longer than a file name may be
        tmp = Path(self.task.tmp) / f"{os.getpid()}-{hashlib.sha256(entry.id.encode()).hexdigest()[:24]}"
        return RawframeWriter(Path(self.task.out) / entry.id, tmp)

    def _flush(self) -> Iterator[VideoResult]:
        """Queue the gathered pairs for the flow thread, then write out the batch before them."""
        if self.pairs:
            batch, self.pairs = self.pairs, []
            frames = [(p[2], p[3]) for p in batch]
            self.in_flight.append((batch, self.flow_thread.submit(self._flow_images, frames)))
        yield from self._collect(1)

    def _collect(self, keep: int) -> Iterator[VideoResult]:
        """Wait for the oldest batches until ``keep`` are in flight, queue their images for
        writing, and report the videos that are finished."""
        while len(self.in_flight) > keep:
            batch, future = self.in_flight.popleft()
            for (video, k, _, _), image in zip(batch, future.result()):
                if video.error is not None:  # failed while its flow was computed
                    continue
                self._write(video, "flow_x", k, image[..., 0])
                self._write(video, "flow_y", k, image[..., 1])
                video.flows += 1
        yield from self._finish_ready()

    def _flow_images(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Quantised flow ``(N, H, W, 2)`` uint8 of frame pairs, on the worker's device."""
        frames, first, second = distinct_frames(pairs)
        if self.config.backend == "cupy":
            import cupy

            stack = cupy.asarray(frames)
            first, second = cupy.asarray(first), cupy.asarray(second)
        else:
            stack = frames
        flows = compute_flow(stack[first], stack[second], method=self.config.method,
                             backend=self.config.backend, params=self.params)
        return to_numpy(quantize(flows, self.config.bound))

    def _write(self, video: _Video, kind: str, index: int, image: np.ndarray) -> None:
        future = self.pool.submit(self._encode, video.sink, frame_name(kind, index), image)
        video.writes.append(future)
        self.writes.append(future)
        while len(self.writes) > _MAX_WRITES:
            self.writes.popleft().result()

    def _encode(self, sink: Any, name: str, image: np.ndarray) -> None:
        sink.put(name, encode_image(np.ascontiguousarray(image), ".jpg", self.config.quality))

    def _finish_ready(self) -> Iterator[VideoResult]:
        for video in [v for v in self.open if v.decoded and v.flows == v.num_frames - self.config.step]:
            self.open.remove(video)
            for future in video.writes:
                future.result()
            meta = self._meta(video)
            if isinstance(video.sink, _MemorySink):
                payload = video.sink.payload(video.entry.id, meta)
            else:
                video.sink.commit(meta)
                payload = None
            yield VideoResult(video.entry.id, str(video.entry.path), "done", video.num_frames,
                              meta=meta, payload=payload, warnings=list(video.reader.decode_errors))

    def _fail(self, video: _Video) -> VideoResult:
        self.open.remove(video)
        self.pairs = [p for p in self.pairs if p[0] is not video]
        self._drain(video)
        video.sink.abort()
        return VideoResult(video.entry.id, str(video.entry.path), "failed", video.num_frames, reason=video.error)

    @staticmethod
    def _drain(video: _Video) -> None:
        for future in video.writes:
            future.exception()

    def _meta(self, video: _Video) -> dict[str, Any]:
        config, reader = self.config, video.reader
        stat = os.stat(video.entry.path)
        width, height = config.resize.target(*reader.source_size)
        return {
            "id": video.entry.id, "source": os.path.abspath(video.entry.path),
            "source_bytes": stat.st_size, "source_mtime_ns": stat.st_mtime_ns,
            "source_width": reader.source_size[0], "source_height": reader.source_size[1],
            "rotation": reader.rotation, "codec": reader.info.codec, "fps": round(reader.info.fps, 6),
            "num_frames": video.num_frames, "num_flows": video.num_frames - config.step,
            "width": width, "height": height, "rgb": config.rgb, "format": config.format,
            "method": config.method, "backend": config.backend, "params": self.params.to_dict(),
            "bound": config.bound, "step": config.step, "quality": config.quality,
            "decode_errors": reader.decode_errors, "tsf_version": __version__,
        }


def _current_device(backend: str) -> tuple[int | None]:
    """The CUDA device this thread uses with the cupy backend (CuPy's current device is per thread)."""
    if backend != "cupy":
        return (None,)
    import cupy

    return (cupy.cuda.runtime.getDevice(),)


def _same_device(device: int | None) -> None:
    if device is not None:
        import cupy

        cupy.cuda.Device(device).use()


def distinct_frames(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct frames of ``pairs`` stacked once, and each pair's two indices into the stack.

    Consecutive pairs of a video share a frame (the same array), which is stacked, converted and
    uploaded once rather than twice.
    """
    index: dict[int, int] = {}
    frames: list[np.ndarray] = []
    slots = np.empty((2, len(pairs)), np.intp)
    for i, pair in enumerate(pairs):
        for j, frame in enumerate(pair):
            if id(frame) not in index:
                index[id(frame)] = len(frames)
                frames.append(frame)
            slots[j, i] = index[id(frame)]
    return np.stack(frames), slots[0], slots[1]
