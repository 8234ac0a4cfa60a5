"""The pool of extraction worker processes, and what happens when one of them dies.

Each worker is a separate process running :func:`.pipeline.run_in_process` on the tasks it is
handed: a decoder that crashes (corrupt files do that to FFmpeg builds) takes down one worker,
whose unfinished videos are reported as failed, and a new worker takes its place. Workers end
with their parent, however it ends.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from typing import Any

from ..errors import FlowkitError
from .config import Task, VideoResult
from .pipeline import run_in_process

__all__ = ["run_in_workers"]


def run_in_workers(tasks: list[Task], slots: list[tuple[str, int]]) -> Iterator[VideoResult]:
    """Process ``tasks`` in one spawned worker process per slot, yielding outcomes as they come.

    A slot is ``("cpu", jobs)`` (OpenCV threads are split between the jobs) or ``("cuda", id)``
    (the worker uses that device). Closing the generator stops the workers.
    """
    context = multiprocessing.get_context("spawn")
    outbox = context.Queue()
    todo = deque(tasks)
    workers: dict[int, _Worker] = {}
    try:
        for slot in slots[: len(tasks)]:
            worker = _Worker(context, slot, outbox)
            workers[worker.wid] = worker
            worker.assign(todo)
        while any(w.task is not None for w in workers.values()):
            try:
                kind, wid, payload = outbox.get(timeout=0.5)
            except queue.Empty:
                yield from _replace_dead(context, workers, outbox, todo)
                continue
            worker = workers.get(wid)
            if worker is None:  # late news from a worker already replaced: its videos were failed
                continue
            if kind == "result":
                worker.reported.add(payload.id)
                yield payload
            elif kind == "idle":
                worker.assign(todo)
            else:
                raise payload
    finally:
        for worker in workers.values():
            worker.stop()


def _replace_dead(context: Any, workers: dict[int, _Worker], outbox: Any, todo: deque) -> Iterator[VideoResult]:
    for wid, worker in list(workers.items()):
        if worker.task is None or worker.process.is_alive():
            continue
        cause = _exit_cause(worker.process.exitcode)
        for entry in worker.task.entries:
            if entry.id not in worker.reported:
                yield VideoResult(entry.id, str(entry.path), "failed",
                                  reason=f"the worker process died ({cause}) while processing this video")
        del workers[wid]
        fresh = _Worker(context, worker.slot, outbox)
        workers[fresh.wid] = fresh
        fresh.assign(todo)


def _exit_cause(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


class _Worker:
    """One worker process and the task it holds; ids are never reused."""

    _ids = itertools.count()

    def __init__(self, context: Any, slot: tuple[str, int], outbox: Any) -> None:
        self.wid = next(self._ids)
        wid = self.wid
        self.slot = slot
        self.inbox = context.Queue()
        self.task: Task | None = None
        self.reported: set[str] = set()
        self.process = context.Process(target=_worker_main, args=(wid, slot, self.inbox, outbox, os.getpid()),
                                       name=f"tsf-worker-{wid}", daemon=True)
        self.process.start()

    def assign(self, todo: deque) -> None:
        self.reported = set()
        self.task = todo.popleft() if todo else None
        if self.task is not None:
            self.inbox.put(self.task)

    def stop(self) -> None:
        if self.process.is_alive():
            self.inbox.put(None)
            self.process.join(timeout=2 if self.task is None else 0.1)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)


def _worker_main(wid: int, slot: tuple[str, int], inbox: Any, outbox: Any, coordinator: int) -> None:
    """A worker process: set up its slot, then run tasks until told to stop or orphaned."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    _exit_with(coordinator)

    def orphaned() -> bool:
        return os.getppid() != coordinator
    kind, value = slot
    if kind == "cuda":
        import cupy

        cupy.cuda.Device(value).use()
    else:
        import cv2

        cv2.setNumThreads(max(1, (os.cpu_count() or 1) // max(1, value)))
    while not orphaned():
        try:
            task = inbox.get(timeout=1)
        except queue.Empty:
            continue
        if task is None:
            return
        try:
            for result in run_in_process(task, orphaned):
                outbox.put(("result", wid, result))
        except BaseException as e:  # handed to the coordinator, which raises it
            outbox.put(("error", wid, _portable(e)))
            return
        outbox.put(("idle", wid, None))


def _exit_with(coordinator: int, poll: float = 0.5) -> None:
    """End this process as soon as ``coordinator`` (its parent) is gone, whatever it is doing.

    A worker blocked on a full result pipe, or inside a long flow call, never gets to check; and
    the pipe's other workers keep it open, so no write fails. Only a thread of its own sees the
    parent go (SIGKILL of the coordinator runs no clean-up there).
    """
    def watch() -> None:
        while os.getppid() == coordinator:
            time.sleep(poll)
        os._exit(1)

    threading.Thread(target=watch, name="tsf-parent-watch", daemon=True).start()


def _portable(error: BaseException) -> BaseException:
    """``error`` if it survives pickling and is ours, else a RuntimeError with the traceback."""
    if isinstance(error, FlowkitError):
        try:
            pickle.loads(pickle.dumps(error))
            return error
        except Exception:
            pass
    text = "".join(traceback.format_exception(error))
    return RuntimeError(f"an extraction worker failed:\n{text}")
