"""Training clips from ``tsf extract-flow`` outputs: the paper's sampling and augmentation (sec. 3.5).

A clip is T snippets of one video: RGB frames t_1 < ... < t_T, ``stride`` apart, and for each the
L flows starting at it (``u_t, v_t, ..., u_{t+L-1}, v_{t+L-1}``). In training the start and the
stride tau are random; one crop (jittered width and height, placement) and one horizontal flip
are drawn per clip and applied to every frame of both streams; a flip also mirrors the x flow
(``255 - q`` on the quantised value). Every random draw comes from
``numpy.random.default_rng([seed, epoch, index])``, so a sample is a pure function of
``(seed, epoch, index)``: resumed and distributed runs see the same samples.

Where we differ from the paper's text, and why:

- the crop side is jittered around ``min(input_size, H, W)``, so frames smaller than the input
  still get jittered crops;
- a video too short for the drawn stride gets the largest stride that fits (at least 1); one too
  short even for stride 1 repeats its last frames and flows (indices clamped);
- rescaled flow keeps its values (displacements are not scaled with the image), as the released
  code that stores flow as JPEGs does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler

from flowkit.config import JsonConfig

from .errors import ConfigError, DataError, FusionnetError
from .frames import FrameStore, open_frames

__all__ = [
    "ClipDataset",
    "ClipPlan",
    "EpochSampler",
    "SamplingConfig",
    "crop_box",
    "iter_batches",
    "make_loader",
    "temporal_indices",
]

STREAMS = ("rgb", "flow")
# how PyTorch words an error it re-raises from a DataLoader worker (torch/_utils.py ExceptionWrapper)
_WORKER_ERROR = re.compile(r"Caught \w+ in DataLoader worker process \d+\.\nOriginal Traceback")
CROPS = ("jitter", "corners")


@dataclass(frozen=True)
class SamplingConfig(JsonConfig):
    """How clips are sampled, augmented and normalised (sec. 3.5)."""

    config_error: ClassVar[type[Exception]] = ConfigError

    streams: tuple[str, ...] = ("rgb", "flow")  # inputs a sample carries: ("rgb",), ("flow",) or both
    num_frames: int = 1  # T, snippets per clip
    flow_frames: int = 10  # L, consecutive flows per snippet: 2L channels u1, v1, u2, v2, ...
    stride: tuple[int, int] = (1, 10)  # tau range, inclusive: paper text [1, 10], released code 5..15
    input_size: int = 224  # S, side of the square network input
    crop: str = "jitter"  # "jitter": free placement; "corners": the 4 corners or the centre
    jitter: float = 0.25  # crop width and height each scaled by 1 + U(-jitter, jitter); border margin
    flip: bool = True  # horizontal flip with probability 0.5 (training only)
    rgb_mean: tuple[float, float, float] = (123.68, 116.779, 103.939)  # ImageNet mean, 0-255, (R, G, B)
    flow_mean: float = 128.0  # subtracted from quantised flow (the quantiser's zero)

    def __post_init__(self) -> None:
        # JSON has no tuples
        for name in ("streams", "stride", "rgb_mean"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        streams = set(self.streams)
        if not streams or not streams <= set(STREAMS) or len(streams) != len(self.streams):
            raise ConfigError(f"SamplingConfig.streams must be ('rgb',), ('flow',) or both, "
                              f"got {self.streams!r}")
        for name in ("num_frames", "flow_frames", "input_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"SamplingConfig.{name} must be an integer >= 1, got {value!r}")
        if len(self.stride) != 2 or not 1 <= self.stride[0] <= self.stride[1]:
            raise ConfigError(f"SamplingConfig.stride must be (low, high) with 1 <= low <= high, "
                              f"got {self.stride!r}")
        if self.crop not in CROPS:
            raise ConfigError(f"SamplingConfig.crop must be one of {', '.join(CROPS)}, got {self.crop!r}")
        if not 0 <= self.jitter < 1:
            raise ConfigError(f"SamplingConfig.jitter must be in [0, 1), got {self.jitter!r}")
        if len(self.rgb_mean) != 3:
            raise ConfigError(f"SamplingConfig.rgb_mean must be 3 values (R, G, B), got {self.rgb_mean!r}")


@dataclass(frozen=True)
class ClipPlan:
    """Everything random about one sample, drawn before any frame is read."""

    frames: np.ndarray  # (T,) 0-based RGB frame indices
    flows: np.ndarray  # (T, L) 0-based flow indices, one stack per frame
    box: tuple[int, int, int, int]  # crop (x, y, width, height) in frame pixels
    flip: bool  # mirror horizontally (and negate the x flow)


def temporal_indices(num_frames: int, num_flows: int, config: SamplingConfig,
                     rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    """The frame indices ``(T,)`` and flow stacks ``(T, L)`` of one clip.

    With ``rng`` (training), a random stride in ``config.stride`` and a random start; without
    (evaluation), the middle stride and the clip centred in the video. The stride shrinks (not
    below 1) when the video is too short for it; indices beyond either end are clamped.
    """
    count, length = config.num_frames, config.flow_frames
    uses_flow = "flow" in config.streams
    # the clip must fit in the frames or, with flow, in the flows its last snippet needs
    limit, tail = (num_flows, length) if uses_flow else (num_frames, 1)
    low, high = config.stride
    stride = int(rng.integers(low, high + 1)) if rng is not None else (low + high) // 2
    if count > 1:
        stride = max(1, min(stride, (limit - tail) // (count - 1)))
    room = max(limit - ((count - 1) * stride + tail), 0)
    start = int(rng.integers(0, room + 1)) if rng is not None else room // 2
    frames = start + stride * np.arange(count)
    flows = frames[:, None] + np.arange(length)[None, :]
    return np.clip(frames, 0, num_frames - 1), np.clip(flows, 0, max(num_flows - 1, 0))


def crop_box(height: int, width: int, config: SamplingConfig,
             rng: np.random.Generator | None) -> tuple[int, int, int, int]:
    """The crop ``(x, y, w, h)`` of one clip in a ``height x width`` frame.

    Training (``rng`` given): width and height each ``min(S, H, W) * (1 + U(-jitter, jitter))``
    (independently, so the aspect may change), clipped to the frame; with ``crop="jitter"`` the
    crop lies at most ``jitter * W`` (``jitter * H``) from the nearest left/right (top/bottom)
    border, with ``"corners"`` at one of the 4 corners or the centre. Evaluation: the centred
    square of side ``min(H, W)``.
    """
    if rng is None:
        side = min(height, width)
        return (width - side) // 2, (height - side) // 2, side, side
    base = min(config.input_size, height, width)
    w, h = (int(np.clip(round(base * (1 + rng.uniform(-config.jitter, config.jitter))), 1, size))
            for size in (width, height))
    if config.crop == "corners":
        x, y = [(0, 0), (width - w, 0), (0, height - h), (width - w, height - h),
                ((width - w) // 2, (height - h) // 2)][int(rng.integers(5))]
        return x, y, w, h
    x = _offset(width - w, config.jitter * width, rng)
    return x, _offset(height - h, config.jitter * height, rng), w, h


def _offset(room: int, margin: float, rng: np.random.Generator) -> int:
    # offsets whose gap to the nearer border is within the margin, drawn uniformly
    offsets = np.arange(room + 1)
    return int(rng.choice(offsets[(offsets <= margin) | (room - offsets <= margin)]))


class ClipDataset(Dataset):
    """Clips of the given videos, decoded and augmented per item (in DataLoader workers).

    Args:
        root: an output folder of ``tsf extract-flow`` (either format, see :func:`open_frames`).
        videos: ``(flowkit id, label)`` pairs, e.g. ``Split.train``.
        config: sampling, augmentation and normalisation.
        train: random clips and augmentation; ``False``: the deterministic evaluation clip.
        seed: with the epoch and the index, decides every random draw.

    Raises:
        DataError: a video is not in the data (see :func:`fusionnet.check_available`).

    Items are an index or ``(index, epoch)`` (from :class:`EpochSampler`) and give
    ``{"rgb": (3, T, S, S), "flow": (2L, T, S, S), "label": int, "index": int}`` (only the
    configured streams), float32 and normalised.
    """

    def __init__(self, root: str | os.PathLike, videos: Sequence[tuple[str, int]], config: SamplingConfig,
                 train: bool = True, seed: int = 0) -> None:
        self.store: FrameStore = open_frames(root)
        self.videos = tuple((str(v), int(label)) for v, label in videos)
        self.config = config
        self.train = train
        self.seed = seed
        self._sizes: dict[str, tuple[int, int]] = {}  # frame (H, W) per video, filled on first use
        known = set(self.store.ids())
        missing = [v for v, _ in self.videos if v not in known]
        if missing:
            raise DataError(f"{self.store.root}: {len(missing)} videos not in the data "
                            f"(first: {', '.join(missing[:5])}); filter them with check_available")

    def __len__(self) -> int:
        return len(self.videos)

    def plan(self, index: int, epoch: int = 0) -> ClipPlan:
        """The frames, flows, crop and flip of item ``(index, epoch)`` (reads only the frame size)."""
        vid = self.videos[index][0]
        frames = self.store.num_frames(vid)
        flows = self.store.num_flows(vid) if "flow" in self.config.streams else frames
        if flows < 1:
            raise DataError(f"{self.store.root}: {vid!r} has no flow frames ({frames} frames)")
        rng = np.random.default_rng([self.seed, epoch, index]) if self.train else None
        frame_idx, flow_idx = temporal_indices(frames, flows, self.config, rng)
        height, width = self._frame_size(vid)
        box = crop_box(height, width, self.config, rng)
        # drawn even when flipping is off, so that the other draws do not depend on it
        flip = rng is not None and bool(rng.random() < 0.5) and self.config.flip
        return ClipPlan(frame_idx, flow_idx, box, flip)

    def __getitem__(self, item: int | tuple[int, int]) -> dict[str, Any]:
        index, epoch = (int(item[0]), int(item[1])) if isinstance(item, tuple) else (int(item), 0)
        if not 0 <= index < len(self.videos):
            raise IndexError(f"item {index} out of range for {len(self.videos)} videos")
        vid, label = self.videos[index]
        plan = self.plan(index, epoch)
        sample: dict[str, Any] = {}
        count, length = plan.flows.shape
        size = self.config.input_size
        if "rgb" in self.config.streams:
            images = self._augment(self.store.rgb(vid, plan.frames), plan)  # (T, S, S, 3)
            rgb = np.empty((3, count, size, size), np.float32)
            mean = np.float32(self.config.rgb_mean)[:, None, None, None]
            np.subtract(images.transpose(3, 0, 1, 2), mean, out=rgb)
            sample["rgb"] = torch.from_numpy(rgb)
        if "flow" in self.config.streams:
            stacks = self._augment(self.store.flow(vid, plan.flows.reshape(-1)), plan, x_flow=True)
            # (T * L, S, S, 2) -> (L, 2, T, S, S) = (2L, T, S, S): channels u1, v1, u2, v2, ...
            flow = np.empty((length, 2, count, size, size), np.float32)
            np.subtract(stacks.reshape(count, length, size, size, 2).transpose(1, 4, 0, 2, 3),
                        np.float32(self.config.flow_mean), out=flow)
            sample["flow"] = torch.from_numpy(flow.reshape(2 * length, count, size, size))
        sample["label"] = label
        sample["index"] = index
        return sample

    def _frame_size(self, vid: str) -> tuple[int, int]:
        if vid not in self._sizes:
            read = self.store.rgb if "rgb" in self.config.streams else self.store.flow
            self._sizes[vid] = read(vid, [0]).shape[1:3]
        return self._sizes[vid]

    def _augment(self, frames: np.ndarray, plan: ClipPlan, x_flow: bool = False) -> np.ndarray:
        """Crop, rescale to S and flip ``(n, H, W, C)`` uint8 frames, all alike: a ``(n, S, S, C)`` view."""
        x, y, w, h = plan.box
        size = self.config.input_size
        out = np.empty((len(frames), size, size, frames.shape[3]), np.uint8)
        for i, frame in enumerate(frames):
            # cv2 reads the crop in place (a view with the frame's row stride)
            out[i] = cv2.resize(frame[y:y + h, x:x + w], (size, size), interpolation=cv2.INTER_LINEAR)
        if plan.flip:
            if x_flow:
                out[..., 0] = 255 - out[..., 0]  # mirrored motion: u -> -u about the quantiser's zero
            return out[:, :, ::-1]
        return out


class EpochSampler(Sampler):
    """Yield ``(index, epoch)`` pairs from any index sampler, so items know their epoch.

    :meth:`set_epoch` also reaches the inner sampler (``DistributedSampler.set_epoch``). A
    ``RandomSampler`` with a generator is reseeded at each pass with the generator's initial seed
    plus the epoch, so its order, like the samples, depends on the epoch alone (exact resume).
    """

    def __init__(self, sampler: Sampler[int], epoch: int = 0) -> None:
        self.sampler = sampler
        self.epoch = epoch
        generator = getattr(sampler, "generator", None)
        self._base_seed = generator.initial_seed() if isinstance(generator, torch.Generator) else None

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` for the next pass (and in the inner sampler, when it takes one)."""
        self.epoch = epoch
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        if self._base_seed is not None:
            self.sampler.generator.manual_seed(self._base_seed + self.epoch)
        epoch = self.epoch
        return ((int(i), epoch) for i in self.sampler)

    def __len__(self) -> int:
        return len(self.sampler)


def make_loader(dataset: Dataset, batch_size: int, workers: int, sampler: Sampler[int] | None = None,
                shuffle: bool = False, seed: int = 0, pin_memory: bool | None = None) -> DataLoader:
    """A DataLoader that decodes in ``workers`` persistent processes and knows the epoch.

    Args:
        dataset: usually a :class:`ClipDataset`.
        batch_size: clips per batch (the last batch may be smaller).
        workers: worker processes; 0 decodes in this process.
        sampler: index sampler (e.g. a ``DistributedSampler``); default a ``RandomSampler``
            seeded with ``seed`` when ``shuffle``, else sequential.
        shuffle: shuffle when no sampler is given.
        seed: seed of the default shuffling.
        pin_memory: page-locked batches for fast host-to-GPU copies; default when CUDA is available.

    Returns:
        The loader; its :class:`EpochSampler` is ``loader.sampler``: call
        ``loader.sampler.set_epoch(epoch)`` before each epoch.
    """
    if sampler is None:
        sampler = (RandomSampler(dataset, generator=torch.Generator().manual_seed(seed)) if shuffle
                   else SequentialSampler(dataset))
    workers_on = workers > 0
    return DataLoader(
        dataset, batch_size=batch_size, sampler=EpochSampler(sampler), num_workers=workers,
        pin_memory=torch.cuda.is_available() if pin_memory is None else pin_memory,
        # no cv2.setNumThreads(1) in the workers: in a child forked after OpenCV's thread pool
        # started, it deadlocks (OpenCV 4.x); the pool itself survives the fork
        persistent_workers=workers_on, prefetch_factor=4 if workers_on else None,
        # the workers' base seed comes from this generator, not from torch's global RNG, whose
        # state (dropout) a resumed run restores: drawing from it would shift every later draw
        generator=torch.Generator().manual_seed(seed),
    )


def iter_batches(loader: Iterable[Any]) -> Iterator[Any]:
    """The batches of ``loader``; a fusionnet error raised in a worker process comes back as itself.

    PyTorch re-raises a worker's error as the same type with the worker's whole traceback as its
    message; the message proper is that traceback's last line, and a user needs only that line.

    Raises:
        FusionnetError: as the worker (or this process) raised it; PyTorch's copy, with the
            worker's traceback, is its ``__cause__``.
    """
    iterator = iter(loader)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except FusionnetError as e:
            text = str(e)
            if not _WORKER_ERROR.match(text):
                raise
            # the last line reads "fusionnet.errors.DataError: <message>"
            raise type(e)(text.rstrip().rpartition("\n")[2].partition(": ")[2]) from e
        yield batch
