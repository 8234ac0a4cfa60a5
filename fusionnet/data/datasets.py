"""Datasets of ``tsf extract-flow`` outputs: training clips, test clips, and their loaders.

:class:`ClipDataset` gives the training (and validation) clips of sec. 3.5, as
:mod:`fusionnet.data.sampling` plans them; every random draw comes from
``numpy.random.default_rng([seed, epoch, index])``, so a sample is a pure function of
``(seed, epoch, index)``: resumed and distributed runs see the same samples. :class:`EvalDataset`
gives the test clips of sec. 4.6, each with its mirror. :func:`make_loader` and
:func:`make_eval_loader` put them in DataLoaders; :func:`iter_batches` gives a worker's error back
as the user would read it.

Where we differ from the paper's text, and why:

- rescaled flow keeps its values (displacements are not scaled with the image), as the released
  code that stores flow as JPEGs does;
- test frames (or crops) whose short side is below the training input are scaled up to it, since
  fc6 (as a convolution) needs at least its training-size map.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler

from ..errors import DataError, FusionnetError
from .frames import FrameStore, open_frames
from .sampling import ClipPlan, SamplingConfig, clip_positions, crop_box, mirror, temporal_indices

__all__ = [
    "ClipDataset",
    "EpochSampler",
    "EvalDataset",
    "EvalViews",
    "iter_batches",
    "make_eval_loader",
    "make_loader",
]

# how PyTorch words an error it re-raises from a DataLoader worker (torch/_utils.py ExceptionWrapper)
_WORKER_ERROR = re.compile(r"Caught \w+ in DataLoader worker process \d+\.\nOriginal Traceback")


def _counts(store: FrameStore, vid: str, sampling: SamplingConfig) -> tuple[int, int]:
    """The frames of ``vid`` and the flows its clips may use: its flows, or its frames without flow."""
    frames = store.num_frames(vid)
    return frames, store.num_flows(vid) if "flow" in sampling.streams else frames


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
        frames, flows = _counts(self.store, vid, self.config)
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
        """Crop, rescale to S and flip ``(n, H, W, C)`` uint8 frames, all alike: ``(n, S, S, C)``."""
        x, y, w, h = plan.box
        size = self.config.input_size
        out = np.empty((len(frames), size, size, frames.shape[3]), np.uint8)
        for i, frame in enumerate(frames):
            # cv2 reads the crop in place (a view with the frame's row stride)
            out[i] = cv2.resize(frame[y:y + h, x:x + w], (size, size), interpolation=cv2.INTER_LINEAR)
        return mirror(out, x_flow) if plan.flip else out


class EvalViews(Protocol):
    """The settings of the test views that :class:`EvalDataset` reads (:class:`fusionnet.EvalConfig`)."""

    positions: int  # clip positions spread evenly over each video
    flip: bool  # also the mirrored clip
    crop: int | None  # None: the whole frame; N: the centred N x N square
    stride: int | None  # frames between snippets; None: the middle of the training range

    @property
    def views(self) -> int:
        """Clips per position: 2 with flips, else 1."""


class EvalDataset(Dataset):
    """The test clips of a list of videos: item ``(video, position)`` gives that clip and its flip.

    Items: ``{"rgb": (V, 3, T, H, W), "flow": (V, 2L, T, H, W), "video": int, "label": int}``
    (the model's streams only), float32, normalised as in training; V = 2 with flips (the
    flipped view second), else 1. H and W are the whole frame or the centre crop, scaled up to a
    short side of ``input_size`` when smaller.

    Raises:
        DataError: a video or frame that cannot be read.
    """

    def __init__(self, root: str | os.PathLike, videos: Sequence[tuple[str, int]], sampling: SamplingConfig,
                 config: EvalViews, input_size: int) -> None:
        self.store: FrameStore = open_frames(root)
        self.videos = tuple((str(v), int(label)) for v, label in videos)
        self.sampling, self.config, self.input_size = sampling, config, input_size
        self.stride = config.stride if config.stride is not None else sum(sampling.stride) // 2

    def __len__(self) -> int:
        return len(self.videos) * self.config.positions

    def clips(self, video: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``(P, T)`` and flow ``(P, T, L)`` indices of video number ``video``."""
        frames, flows = _counts(self.store, self.videos[video][0], self.sampling)
        return clip_positions(frames, flows, self.sampling, self.config.positions, self.stride)

    def __getitem__(self, item: int) -> dict[str, Any]:
        video, position = divmod(int(item), self.config.positions)
        vid, label = self.videos[video]
        frames, flows = (a[position] for a in self.clips(video))
        sample: dict[str, Any] = {"video": video, "label": label}
        if "rgb" in self.sampling.streams:
            images = self._views(self.store.rgb(vid, frames), x_flow=False)  # (V, T, H, W, 3)
            mean = np.float32(self.sampling.rgb_mean)
            rgb = (images.astype(np.float32) - mean).transpose(0, 4, 1, 2, 3)  # (V, 3, T, H, W)
            sample["rgb"] = torch.from_numpy(np.ascontiguousarray(rgb))
        if "flow" in self.sampling.streams:
            count, length = flows.shape
            stacks = self._views(self.store.flow(vid, flows.reshape(-1)), x_flow=True)  # (V, T*L, H, W, 2)
            v, _, h, w, _ = stacks.shape
            # (V, T, L, H, W, 2) -> (V, L, 2, T, H, W) = (V, 2L, T, H, W): channels u1, v1, u2, v2, ...
            flow = stacks.reshape(v, count, length, h, w, 2).transpose(0, 2, 5, 1, 3, 4)
            flow = flow.astype(np.float32) - np.float32(self.sampling.flow_mean)
            sample["flow"] = torch.from_numpy(flow.reshape(v, 2 * length, count, h, w))
        return sample

    def _views(self, frames: np.ndarray, x_flow: bool) -> np.ndarray:
        """The frames cropped or scaled, and their mirror when flipping: ``(V, n, H, W, C)`` uint8."""
        frames = self._resize(frames)
        views = [frames, mirror(frames, x_flow)] if self.config.flip else [frames]
        return np.stack(views)

    def _resize(self, frames: np.ndarray) -> np.ndarray:
        """The centre crop (a crop larger than the frame: its centred square scaled to the crop side),
        then scaled up to a short side of ``input_size`` if smaller: fc6 needs the training map."""
        height, width = frames.shape[1:3]
        crop = self.config.crop
        if crop is not None:
            side = min(crop, height, width)
            y, x = (height - side) // 2, (width - side) // 2
            frames = frames[:, y:y + side, x:x + side]
            if side < crop:
                frames = _scale(frames, crop, crop)
        height, width = frames.shape[1:3]
        scale = self.input_size / min(height, width)
        if scale <= 1:
            return frames
        return _scale(frames, round(height * scale), round(width * scale))


def _scale(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    out = np.empty((len(frames), height, width, frames.shape[3]), np.uint8)
    for i, frame in enumerate(frames):
        out[i] = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
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


def make_eval_loader(dataset: EvalDataset, batch_size: int, workers: int,
                     pin_memory: bool = False) -> DataLoader:
    """A DataLoader of an :class:`EvalDataset` whose batches hold one video's positions each.

    Args:
        dataset: the test clips.
        batch_size: clips per batch, a flipped clip counting as one (at least one position a batch).
        workers: worker processes; 0 decodes in this process.
        pin_memory: page-locked batches for fast host-to-GPU copies.

    Returns:
        The loader; a batch is ``{"rgb": (n * V, 3, T, H, W), "flow": ..., "video": int, "label": int}``
        for n positions of one video (whole frames of different videos may differ in size).
    """
    per_batch = max(1, batch_size // dataset.config.views)
    batches = _video_batches(len(dataset.videos), dataset.config.positions, per_batch)
    return DataLoader(dataset, batch_sampler=batches, num_workers=workers, collate_fn=_collate,
                      pin_memory=pin_memory)


def _video_batches(videos: int, positions: int, per_batch: int) -> list[list[int]]:
    """Item indices in batches of at most ``per_batch`` positions, never mixing two videos."""
    batches = []
    for video in range(videos):
        first = video * positions
        batches += [list(range(first + i, first + min(i + per_batch, positions)))
                    for i in range(0, positions, per_batch)]
    return batches


def _collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    batch: dict[str, Any] = {"video": items[0]["video"], "label": items[0]["label"]}
    for key in ("rgb", "flow"):
        if key in items[0]:
            # (positions, V, C, T, H, W) -> (positions * V, C, T, H, W)
            batch[key] = torch.cat([item[key] for item in items])
    return batch


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
