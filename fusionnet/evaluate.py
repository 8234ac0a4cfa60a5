"""The paper's test protocol (sec. 3.5, 4.6), its metrics and readable reports; late fusion of score files.

Per test video, ``positions`` clips (20 in sec. 4.6) start at evenly spaced frames from the first
to the last possible start; each is T snippets ``stride`` frames apart (the middle of the
training stride range unless given) and is also seen horizontally flipped (the x flow becomes
``255 - q``, as in training). The model is fully convolutional and sees the whole frame (or a
centre crop): its score maps are averaged. The raw fc8 scores of every head are averaged over
positions and flips; the video's prediction (``"combined"``) then averages the heads' fc8 scores
(Table 4; both towers of the "+" form), or their softmax for late fusion, as
:meth:`TwoStreamNet.predict` does.

Where we differ from the paper's text, and why:

- a video shorter than a clip gets a smaller stride, then repeated end frames (as in training),
  so its positions may coincide; nothing fails on short videos;
- frames (or crops) whose short side is below the training input are scaled up to it, since fc6
  (as a convolution) needs at least its training-size map.

A score file (``predictions.jsonl``, or another method's, for :func:`fuse_scores`) has one JSON
object per line: ``{"id": str, "label": int, "scores": [float, ...]}``; ours adds ``"heads"``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from flowkit import __version__, atomic_write, write_image
from flowkit.config import JsonConfig

from .data import SamplingConfig, iter_batches
from .errors import CheckpointError, ConfigError, EvaluationError, ScoresError
from .frames import FrameStore, open_frames
from .fusion import TwoStreamNet
from .presets import FusionConfig
from .splits import Split, check_available, load_split
from .train import checkpoint_model, load_checkpoint

__all__ = [
    "Checkpoint",
    "EvalConfig",
    "EvalDataset",
    "Evaluation",
    "FusedScores",
    "Metrics",
    "ScoreFile",
    "clip_positions",
    "combine_heads",
    "compute_metrics",
    "confusion_image",
    "evaluate",
    "fuse_scores",
    "mean_report",
    "mirror",
    "open_checkpoint",
    "read_scores",
    "split_checkpoints",
    "summary_markdown",
    "write_evaluation",
]

log = logging.getLogger(__name__)

_BEST, _LAST, _CONFIG = "best.pt", "last.pt", "config.json"
_TOP = 5  # the top-k accuracy reported besides top-1


@dataclass(frozen=True)
class EvalConfig(JsonConfig):
    """The test protocol and the machinery that runs it. Saved in ``report.json``."""

    config_error: ClassVar[type[Exception]] = ConfigError

    positions: int = 20  # clip positions spread evenly over each video (sec. 4.6)
    flip: bool = True  # also score each clip horizontally flipped
    crop: int | None = None  # None: the whole frame; N: the centred N x N square
    stride: int | None = None  # frames between snippets; None: the middle of the training range
    batch_size: int = 16  # clips per forward pass (a flipped clip counts as one)
    workers: int = 2  # DataLoader processes decoding the frames; 0 decodes in this process
    amp: bool = False  # bf16 autocast (CUDA only)
    device: str = "auto"  # "auto" (CUDA when available), "cpu", "cuda", "cuda:N"
    allow_missing: bool = False  # drop test videos absent from the data instead of failing

    def __post_init__(self) -> None:
        for name in ("positions", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("crop", "stride"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        if self.workers < 0:
            raise ConfigError(f"workers must be at least 0, got {self.workers}")

    @property
    def views(self) -> int:
        """Clips scored per position: 2 with flips, else 1."""
        return 2 if self.flip else 1


@dataclass(frozen=True)
class Checkpoint:
    """A trained model and what it was trained on, as read from a run folder or a ``.pt`` file."""

    path: Path  # the weights file
    run: Path  # the folder holding config.json
    model: FusionConfig
    classes: tuple[str, ...]
    sampling: SamplingConfig
    state_dict: dict[str, torch.Tensor]
    sha256: str

    def build(self) -> TwoStreamNet:
        """The model with these weights, fully convolutional and in eval mode.

        Raises:
            EvaluationError: weights that do not fit the configuration.
        """
        model = TwoStreamNet(self.model)
        try:
            model.load_state_dict(self.state_dict)
        except RuntimeError as e:  # lists the missing, unexpected and mismatched keys
            raise EvaluationError(f"{self.path}: weights do not fit the model of {self.run / _CONFIG}: "
                                  f"{e}") from e
        return model.set_fully_conv(True).eval()


def open_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a run folder (its ``best.pt``, else ``last.pt``) or a ``.pt`` file beside a ``config.json``.

    Raises:
        EvaluationError: no weights, or no ``config.json`` beside them.
        CheckpointError: a ``.pt`` file that is damaged, not ours, or holds non-finite weights (see
            :func:`load_checkpoint`).
    """
    path = Path(path)
    if path.is_dir():
        weights = next((path / n for n in (_BEST, _LAST) if (path / n).is_file()), None)
        if weights is None:
            raise EvaluationError(f"{path}: no {_BEST} or {_LAST}; pass a run folder of tsf train "
                                  "or a .pt file")
        path = weights
    elif not path.is_file():
        raise EvaluationError(f"{path}: no such checkpoint file or run folder")
    config_path = path.parent / _CONFIG
    if not config_path.is_file():
        raise EvaluationError(f"{path}: no {_CONFIG} beside it (classes and sampling come from the run "
                              "folder); keep the checkpoint in its tsf train run folder")
    try:
        record = json.loads(config_path.read_text())
        classes, sampling = tuple(record["classes"]), SamplingConfig.from_dict(record["sampling"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise EvaluationError(f"{config_path}: not a config.json of tsf train ({e})") from e
    weights, arch = checkpoint_model(load_checkpoint(path))
    try:
        model = FusionConfig.from_dict(arch)
    except (ConfigError, TypeError) as e:
        raise CheckpointError(str(path), f"its model configuration is not one tsf builds ({e})") from e
    return Checkpoint(path=path, run=path.parent, model=model, classes=classes, sampling=sampling,
                      state_dict=weights, sha256=_sha256(path))


def split_checkpoints(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The three checkpoints of ``--split all``: three paths, or one folder holding ``split1..3``.

    Raises:
        EvaluationError: neither three paths nor a folder with the three subfolders.
    """
    if len(paths) == 3:
        return [Path(p) for p in paths]
    if len(paths) == 1:
        folders = [Path(paths[0]) / f"split{n}" for n in (1, 2, 3)]
        missing = [f.name for f in folders if not f.is_dir()]
        if not missing:
            return folders
        raise EvaluationError(f"{paths[0]}: no {', '.join(missing)} subfolder; --split all takes a folder "
                              "holding split1, split2 and split3, or --checkpoint three times")
    raise EvaluationError(f"--split all takes three checkpoints (one per split) or one folder of split1..3, "
                          f"got {len(paths)}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def clip_positions(num_frames: int, num_flows: int, sampling: SamplingConfig, positions: int,
                   stride: int) -> tuple[np.ndarray, np.ndarray]:
    """The frames ``(P, T)`` and flow stacks ``(P, T, L)`` of the ``positions`` test clips of a video.

    Starts are spread evenly from the first to the last start at which the clip fits (rounded);
    with one position the clip is centred. A video too short for ``stride`` gets the largest
    stride that fits (at least 1); indices beyond its end are clamped to the last frame and flow.

    Example:
        >>> frames, _ = clip_positions(100, 99, SamplingConfig(streams=("rgb",)), 3, 5)
        >>> frames[:, 0].tolist()
        [0, 50, 99]
    """
    count, length = sampling.num_frames, sampling.flow_frames
    # the clip must fit in the frames or, with flow, in the flows its last snippet needs
    limit, tail = (num_flows, length) if "flow" in sampling.streams else (num_frames, 1)
    if count > 1:
        stride = max(1, min(stride, (limit - tail) // (count - 1)))
    room = max(limit - ((count - 1) * stride + tail), 0)
    starts = np.array([room // 2]) if positions == 1 else np.rint(np.linspace(0, room, positions)).astype(int)
    frames = starts[:, None] + stride * np.arange(count)[None, :]
    flows = frames[:, :, None] + np.arange(length)[None, None, :]
    return np.clip(frames, 0, num_frames - 1), np.clip(flows, 0, max(num_flows - 1, 0))


def mirror(frames: np.ndarray, x_flow: bool = False) -> np.ndarray:
    """``(n, H, W, C)`` uint8 frames flipped left-right; with ``x_flow``, channel 0 also becomes ``255 - q``.

    A mirrored motion has its horizontal component negated, which on the quantised scale is
    ``255 - q`` (as :class:`ClipDataset` does in training).
    """
    out = np.ascontiguousarray(frames[:, :, ::-1])
    if x_flow:
        out[..., 0] = 255 - out[..., 0]
    return out


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
                 config: EvalConfig, input_size: int) -> None:
        self.store: FrameStore = open_frames(root)
        self.videos = tuple((str(v), int(label)) for v, label in videos)
        self.sampling, self.config, self.input_size = sampling, config, input_size
        self.stride = config.stride if config.stride is not None else sum(sampling.stride) // 2

    def __len__(self) -> int:
        return len(self.videos) * self.config.positions

    def clips(self, video: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``(P, T)`` and flow ``(P, T, L)`` indices of video number ``video``."""
        vid = self.videos[video][0]
        frames = self.store.num_frames(vid)
        flows = self.store.num_flows(vid) if "flow" in self.sampling.streams else frames
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


def _video_batches(videos: int, positions: int, per_batch: int) -> list[list[int]]:
    """Item indices in batches of at most ``per_batch`` positions, never mixing two videos
    (whole frames of different videos may differ in size)."""
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


def combine_heads(heads: Mapping[str, np.ndarray], late: bool) -> np.ndarray:
    """A video's prediction from its heads' averaged fc8 scores ``(N, C)``: their mean, or for late
    fusion the mean of their softmax (as :meth:`TwoStreamNet.predict`)."""
    stack = np.stack([np.asarray(h, np.float64) for h in heads.values()])
    if late:
        stack = np.exp(stack - stack.max(axis=2, keepdims=True))
        stack /= stack.sum(axis=2, keepdims=True)
    return stack.mean(0)


@dataclass(frozen=True)
class Metrics:
    """Video-level metrics of one set of scores."""

    accuracy: float  # fraction of videos whose top class is right (the paper's figure)
    mean_class_accuracy: float  # accuracy averaged over the classes that have test videos
    top1: float  # equals accuracy; reported under both names as the issue's tables do
    top5: float  # true class among the 5 best (all classes when there are fewer)
    per_class: tuple[float | None, ...]  # accuracy per class; None for a class without test videos
    support: tuple[int, ...]  # test videos per class
    confusion: tuple[tuple[int, ...], ...]  # (C, C) counts, row = true class, column = predicted

    def to_dict(self) -> dict[str, Any]:
        return {k: [list(r) for r in v] if k == "confusion" else (list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}


def compute_metrics(scores: np.ndarray, labels: Sequence[int], num_classes: int | None = None) -> Metrics:
    """Accuracy, mean class accuracy, top-1, top-5 and the confusion matrix of ``(N, C)`` scores.

    Ties go to the lower class index (``argmax``).

    Raises:
        EvaluationError: shapes that do not fit, no videos, or a label out of range.
    """
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, np.int64)
    if scores.ndim != 2 or len(scores) != len(labels) or not len(labels):
        raise EvaluationError(f"need (N, C) scores and N labels, N > 0; got {scores.shape} and "
                              f"{labels.shape}")
    classes = num_classes or scores.shape[1]
    if labels.min() < 0 or labels.max() >= classes or scores.shape[1] != classes:
        raise EvaluationError(f"labels must lie in [0, {classes}) and scores have {classes} columns")
    predicted = scores.argmax(1)
    confusion = np.zeros((classes, classes), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    support = confusion.sum(1)
    per_class = [float(confusion[c, c] / support[c]) if support[c] else None for c in range(classes)]
    k = min(_TOP, classes)
    # rank of the true class: how many classes score strictly higher
    rank = (scores > scores[np.arange(len(labels)), labels][:, None]).sum(1)
    accuracy = float((predicted == labels).mean())
    present = [a for a in per_class if a is not None]
    return Metrics(accuracy=accuracy, mean_class_accuracy=float(np.mean(present)), top1=accuracy,
                   top5=float((rank < k).mean()), per_class=tuple(per_class),
                   support=tuple(int(s) for s in support),
                   confusion=tuple(tuple(int(x) for x in r) for r in confusion))


@dataclass
class Evaluation:
    """Scores and metrics of one checkpoint on one split's test videos."""

    ids: list[str]
    labels: list[int]
    classes: tuple[str, ...]
    heads: dict[str, np.ndarray]  # head name -> (N, C) fc8 scores averaged over positions and flips
    combined: np.ndarray  # (N, C) the prediction (see :func:`combine_heads`)
    metrics: dict[str, Metrics]  # per head and "combined"
    report: dict[str, Any]  # what report.json holds besides the metrics


def evaluate(checkpoint: str | os.PathLike | Checkpoint, data: str | os.PathLike, dataset: str,
             splits_dir: str | os.PathLike, split: int, config: EvalConfig = EvalConfig(),
             progress: bool = True) -> Evaluation:
    """Score every test video of ``split`` with the protocol of ``config``.

    Args:
        checkpoint: a run folder of ``tsf train``, a ``.pt`` file in one, or an opened :class:`Checkpoint`.
        data: an output folder of ``tsf extract-flow``.
        dataset, splits_dir, split: the split files, as :func:`load_split` takes them.
        config: the protocol and the machinery.
        progress: a progress bar on stderr.

    Raises:
        EvaluationError: a checkpoint that cannot be used, classes that differ from the split's, a
            model whose scores are not finite.
        CheckpointError: a ``.pt`` file that is damaged, not ours, or holds non-finite weights.
        ConfigError: ``amp`` without CUDA.
        SplitError, DataError: the split files or the data.
    """
    started = time.perf_counter()
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else open_checkpoint(checkpoint)
    chosen = load_split(dataset, splits_dir, split)
    if chosen.classes != ckpt.classes:
        raise EvaluationError(_class_mismatch(ckpt, chosen, dataset, split))
    chosen = check_available(chosen, open_frames(data).ids(), config.allow_missing)
    if not chosen.test:
        raise EvaluationError(f"split {split} of {splits_dir} has no test videos")
    device = torch.device("cuda" if config.device == "auto" and torch.cuda.is_available() else
                          "cpu" if config.device == "auto" else config.device)
    if config.amp and device.type != "cuda":
        raise ConfigError("--amp needs a CUDA device")
    model = ckpt.build().to(device)
    streams = tuple(s for s, tower in (("rgb", model.spatial), ("flow", model.temporal)) if tower is not None)
    sampling = dataclasses.replace(ckpt.sampling, streams=streams)
    data_set = EvalDataset(data, chosen.test, sampling, config, ckpt.model.input_size)
    heads = _score(model, data_set, config, device, progress)
    for name, scores in heads.items():
        bad = np.flatnonzero(~np.isfinite(scores).all(1))
        if len(bad):
            raise EvaluationError(f"{ckpt.path}: the {name} head gives non-finite scores ({len(bad)} of "
                                  f"{len(scores)} videos, first: {chosen.test[bad[0]][0]}); its weights are "
                                  "finite but the model diverged: evaluate an earlier checkpoint")
    combined = combine_heads(heads, ckpt.model.fusion == "late")
    labels = [label for _, label in chosen.test]
    metrics = {name: compute_metrics(s, labels, len(ckpt.classes)) for name, s in heads.items()}
    metrics["combined"] = compute_metrics(combined, labels, len(ckpt.classes))
    protocol = {**config.to_dict(), "stride": data_set.stride,
                "views_per_video": config.positions * config.views,
                "input": "whole frame" if config.crop is None else f"centre crop {config.crop}"}
    report = {"split": split, "dataset": dataset, "splits_dir": str(splits_dir), "data": str(data),
              "checkpoint": str(ckpt.path), "sha256": ckpt.sha256, "videos": len(labels),
              "protocol": protocol, "model": ckpt.model.to_dict(), "sampling": ckpt.sampling.to_dict(),
              "classes": list(ckpt.classes), "device": str(device),
              "seconds": round(time.perf_counter() - started, 3), "tsf_version": __version__}
    return Evaluation(ids=[v for v, _ in chosen.test], labels=labels, classes=ckpt.classes, heads=heads,
                      combined=combined, metrics=metrics, report=report)


def _class_mismatch(ckpt: Checkpoint, split: Split, dataset: str, number: int) -> str:
    ours, theirs = ckpt.classes, split.classes
    if len(ours) != len(theirs):
        detail = f"{len(ours)} classes against {len(theirs)}"
    else:
        i = next(i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b)
        detail = f"class {i} is {ours[i]!r} in the checkpoint, {theirs[i]!r} in the split"
    return (f"{ckpt.run / _CONFIG}: the checkpoint's classes differ from those of {dataset} split {number} "
            f"({detail}); evaluate on the split it was trained for")


@torch.no_grad()
def _score(model: TwoStreamNet, data_set: EvalDataset, config: EvalConfig, device: torch.device,
           progress: bool) -> dict[str, np.ndarray]:
    """Every head's fc8 scores ``(videos, C)``, averaged over each video's clips and flips."""
    per_batch = max(1, config.batch_size // config.views)
    batches = _video_batches(len(data_set.videos), config.positions, per_batch)
    loader = DataLoader(data_set, batch_sampler=batches, num_workers=config.workers, collate_fn=_collate,
                        pin_memory=device.type == "cuda")
    sums: dict[str, torch.Tensor] = {}
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if config.amp else nullcontext()
    for batch in _bar(iter_batches(loader), len(batches), progress):
        inputs = {k: batch[k].to(device, non_blocking=True) for k in ("rgb", "flow") if k in batch}
        with amp:
            heads = model(**inputs)
        for name, scores in heads.items():
            if name not in sums:
                sums[name] = torch.zeros(len(data_set.videos), scores.shape[1], dtype=torch.float64)
            sums[name][batch["video"]] += scores.double().sum(0).cpu()
    views = config.positions * config.views
    return {name: (total / views).numpy() for name, total in sums.items()}


def _bar(loader: Iterator[dict[str, Any]], total: int, progress: bool) -> Iterator[dict[str, Any]]:
    if not progress:
        return iter(loader)
    from tqdm import tqdm

    return iter(tqdm(loader, total=total, desc="evaluate", unit="batch", leave=False, dynamic_ncols=True))


def write_evaluation(evaluation: Evaluation, out: str | os.PathLike) -> dict[str, Any]:
    """Write ``predictions.jsonl``, ``report.json``, ``per_class.csv`` and ``confusion.png`` in ``out``.

    Returns:
        The report (as written to ``report.json``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, (vid, label) in enumerate(zip(evaluation.ids, evaluation.labels)):
        row = {"id": vid, "label": label, "scores": _floats(evaluation.combined[i]),
               "heads": {name: _floats(s[i]) for name, s in evaluation.heads.items()}}
        lines.append(json.dumps(row))
    atomic_write(out / "predictions.jsonl", ("\n".join(lines) + "\n").encode())
    report = {**evaluation.report, "metrics": {k: m.to_dict() for k, m in evaluation.metrics.items()}}
    atomic_write(out / "report.json", (json.dumps(report, indent=2) + "\n").encode())
    atomic_write(out / "per_class.csv", _per_class_csv(evaluation).encode())
    write_image(out / "confusion.png", confusion_image(np.array(evaluation.metrics["combined"].confusion),
                                                      evaluation.classes))
    return report


def _floats(row: np.ndarray) -> list[float]:
    return [round(float(x), 6) for x in row]


def _per_class_csv(evaluation: Evaluation) -> str:
    names = list(evaluation.metrics)
    rows = ["class,name,videos," + ",".join(names)]
    support = evaluation.metrics["combined"].support
    for c, name in enumerate(evaluation.classes):
        cells = [m.per_class[c] for m in evaluation.metrics.values()]
        text = ",".join("" if a is None else f"{a:.4f}" for a in cells)
        rows.append(f"{c},{_csv(name)},{support[c]},{text}")
    return "\n".join(rows) + "\n"


def _csv(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(ch in text for ch in ',"\n') else text


def confusion_image(confusion: np.ndarray, classes: Sequence[str], max_side: int = 1024) -> np.ndarray:
    """A row-normalised confusion matrix as an RGB image ``(H, W, 3)`` uint8 (viridis, true classes
    down, predicted across), with class indices on both axes when the cells are large enough.
    """
    count = len(classes)
    cell = int(np.clip(max_side // max(count, 1), 2, 48))
    rows = confusion.sum(1, keepdims=True).astype(np.float64)
    norm = np.divide(confusion, rows, out=np.zeros(confusion.shape, np.float64), where=rows > 0)
    grid = cv2.applyColorMap(np.rint(norm * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
    grid = cv2.resize(grid, (count * cell, count * cell), interpolation=cv2.INTER_NEAREST)
    labelled = cell >= 12
    margin = 8 * len(str(count - 1)) + 8 if labelled else 0
    image = np.full((margin + count * cell, margin + count * cell, 3), 255, np.uint8)
    image[margin:, margin:] = grid
    if labelled:
        scale = min(cell / 30, 0.6)
        for c in range(count):
            text, middle = str(c), margin + c * cell + cell // 2
            for corner in ((2, middle + 4), (middle - 4, margin - 4)):  # left of the row, above the column
                cv2.putText(image, text, corner, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def mean_report(reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The paper's figure over splits: each scalar metric of each head averaged over ``reports``."""
    keys = ("accuracy", "mean_class_accuracy", "top1", "top5")
    heads = [h for h in reports[0]["metrics"] if all(h in r["metrics"] for r in reports)]
    mean = {h: {k: float(np.mean([r["metrics"][h][k] for r in reports])) for k in keys} for h in heads}
    return {"splits": [r["split"] for r in reports], "mean": mean,
            "per_split": [{"split": r["split"], "checkpoint": r["checkpoint"], "sha256": r["sha256"],
                           "videos": r["videos"], "metrics": {h: {k: r["metrics"][h][k] for k in keys}
                                                              for h in heads}} for r in reports],
            "protocol": reports[0]["protocol"], "tsf_version": __version__}


def summary_markdown(reports: Sequence[Mapping[str, Any]]) -> str:
    """A short Markdown summary: one table per split, then the mean over splits when there are several."""
    parts = []
    for r in reports:
        p = r["protocol"]
        flips = " x 2 flips" if p["flip"] else ""
        parts.append(f"### {r['dataset']} split {r['split']}: {r['videos']} videos, "
                     f"{p['positions']} positions{flips}, {p['input']}, stride {p['stride']}\n\n"
                     + _table(r["metrics"]))
    if len(reports) > 1:
        parts.append(f"### mean over splits {', '.join(str(r['split']) for r in reports)}\n\n"
                     + _table(mean_report(reports)["mean"]))
    return "\n\n".join(parts) + "\n"


def _table(metrics: Mapping[str, Mapping[str, Any]]) -> str:
    lines = ["| head | accuracy | mean class accuracy | top-1 | top-5 |", "|---|---|---|---|---|"]
    for head, m in metrics.items():
        cells = " | ".join(f"{100 * m[k]:.2f}%" for k in ("accuracy", "mean_class_accuracy", "top1", "top5"))
        lines.append(f"| {head} | {cells} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class ScoreFile:
    """Scores of one method, one row per video."""

    path: str
    ids: tuple[str, ...]
    labels: np.ndarray  # (N,)
    scores: np.ndarray  # (N, C)


def read_scores(path: str | os.PathLike) -> ScoreFile:
    """A score file: JSON lines ``{"id", "label", "scores": [C floats]}`` (``predictions.jsonl`` is one).

    Raises:
        ScoresError: no such file, not UTF-8, a malformed line (numbered: scores that are not a
            non-empty list of finite numbers among others), a repeated id, or rows of different lengths.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ScoresError(f"{path}: cannot read ({e.strerror or e})") from e
    try:
        text = data.decode()
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise ScoresError(f"{path}:{line}: not UTF-8 text ({e.reason}); score files are JSON lines") from e
    ids, labels, rows = [], [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            vid, label, scores = str(row["id"]), int(row["label"]), _score_list(row["scores"])
        except (ValueError, KeyError, TypeError, OverflowError) as e:
            raise ScoresError(f"{path}:{number}: not a score line {{\"id\", \"label\", \"scores\": [...]}} "
                              f"({type(e).__name__}: {e})") from e
        if rows and len(scores) != len(rows[0]):
            raise ScoresError(f"{path}:{number}: {len(scores)} scores where earlier lines have "
                              f"{len(rows[0])}")
        ids.append(vid)
        labels.append(label)
        rows.append(scores)
    if not rows:
        raise ScoresError(f"{path}: no score lines")
    if len(set(ids)) != len(ids):
        repeated = next(v for v in ids if ids.count(v) > 1)
        raise ScoresError(f"{path}: video {repeated!r} appears more than once")
    return ScoreFile(str(path), tuple(ids), np.array(labels, np.int64), np.array(rows, np.float64))


def _score_list(value: Any) -> list[float]:
    """A line's ``"scores"``: a non-empty JSON list of finite numbers (a string is a sequence too)."""
    if not isinstance(value, list) or not value:
        raise TypeError(f"scores must be a non-empty list of numbers, got {json.dumps(value)[:40]}")
    for x in value:
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TypeError(f"scores must be numbers, got {json.dumps(x)[:40]}")
        if not math.isfinite(x):  # json reads NaN, Infinity and 1e999 (an OverflowError for a huge int)
            raise ValueError(f"scores must be finite, got {x}")
    return [float(x) for x in value]


@dataclass(frozen=True)
class FusedScores:
    """The weighted mean of several methods' scores and its metrics, and each method's alone."""

    ids: tuple[str, ...]
    labels: np.ndarray
    scores: np.ndarray  # (N, C)
    weights: tuple[float, ...]
    metrics: Metrics
    inputs: dict[str, Metrics]  # per input file


def fuse_scores(files: Sequence[ScoreFile], weights: Sequence[float] | None = None) -> FusedScores:
    """Late fusion (Table 6): the weighted mean of the files' raw scores, video by video.

    Raises:
        ScoresError: fewer than two files, the same file twice, weights that do not fit, different
            video sets, labels or class counts.
    """
    if len(files) < 2:
        raise ScoresError(f"late fusion needs at least two score files, got {len(files)}")
    seen: dict[Path, str] = {}
    for f in files:
        key = Path(f.path).resolve()
        if key in seen:
            raise ScoresError(f"{f.path} is given twice (also as {seen[key]}); fusing a file with itself "
                              "adds nothing")
        seen[key] = f.path
    weights = tuple(float(w) for w in weights) if weights is not None else (1.0,) * len(files)
    valid = all(math.isfinite(w) and w >= 0 for w in weights) and sum(weights) > 0
    if len(weights) != len(files) or not valid:
        raise ScoresError(f"need one finite non-negative weight per file ({len(files)}), not all zero; "
                          f"got {weights}")
    first = files[0]
    known = set(first.ids)
    aligned = [first.scores]
    for f in files[1:]:
        if f.scores.shape[1] != first.scores.shape[1]:
            raise ScoresError(f"{f.path} has {f.scores.shape[1]} classes, {first.path} "
                              f"{first.scores.shape[1]}")
        if set(f.ids) != known:
            only = sorted(set(f.ids) ^ known)
            raise ScoresError(f"{f.path} and {first.path} score different videos ({len(only)} in only one, "
                              f"first: {', '.join(only[:3])})")
        position = {vid: i for i, vid in enumerate(f.ids)}
        index = np.array([position[v] for v in first.ids])
        wrong = np.flatnonzero(f.labels[index] != first.labels)
        if len(wrong):
            raise ScoresError(f"{f.path} and {first.path} disagree on the label of {first.ids[wrong[0]]!r}")
        aligned.append(f.scores[index])
    fused = sum(w * s for w, s in zip(weights, aligned)) / sum(weights)
    classes = first.scores.shape[1]
    return FusedScores(ids=first.ids, labels=first.labels, scores=fused, weights=weights,
                       metrics=compute_metrics(fused, first.labels, classes),
                       inputs={f.path: compute_metrics(s, first.labels, classes)
                               for f, s in zip(files, aligned)})
