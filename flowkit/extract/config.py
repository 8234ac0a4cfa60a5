"""The plain records of an extraction: what it produces, how it runs, and what came of each video.

A leaf module: the run, its worker pipeline and its pool of processes all import it, and it
imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ExtractionError
from ..flow import flow_params
from ..io.quantize import DEFAULT_BOUND
from .shards import ShardVideo
from .video import Resize, VideoEntry

__all__ = [
    "FORMATS",
    "GPU_BATCH_PIXELS",
    "ExtractConfig",
    "ExtractSummary",
    "RunOptions",
    "Task",
    "VideoResult",
]

# frame pixels of one GPU flow call when the batch is not set: 128 pairs at 340x256, where the fused
# TV-L1 reached its full rate on an H100 (measurements in docs/flow.md), fewer for larger frames
GPU_BATCH_PIXELS = 128 * 340 * 256

FORMATS = ("jpeg", "hdf5")


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
        overwrite: redo finished videos too (exactly those of ``entries``; nothing else is touched).
        fail_fast: stop at the first failed video.
        strict: fail a video whose decoder reported errors (a truncated or damaged file that
            still decodes in part); without it such a video is done, with the errors in its
            meta.json and in :attr:`VideoResult.warnings`.
    """

    jobs: int = 1
    devices: tuple[int, ...] = ()
    num_shards: int = 1
    shard_index: int = 0
    overwrite: bool = False
    fail_fast: bool = False
    strict: bool = False

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
    """The outcome of one video: ``status`` is ``"done"``, ``"skipped"`` (done before) or ``"failed"``.

    ``warnings`` are problems that did not stop the video (the decoder's errors on a damaged file).
    """

    id: str
    path: str
    status: str
    num_frames: int = 0
    reason: str | None = None
    meta: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    payload: ShardVideo | None = field(default=None, repr=False)


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


@dataclass(frozen=True)
class Task:
    """Videos one worker processes in a row (several when their frame pairs are batched together).

    A plain record that crosses to worker processes: ``out`` is the output folder, ``tmp`` the
    job's temporary folder in it, ``strict`` as :attr:`RunOptions.strict`.
    """

    entries: tuple[VideoEntry, ...]
    out: str
    tmp: str
    config: ExtractConfig
    strict: bool = False
