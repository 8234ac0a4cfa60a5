"""The paper's test protocol (sec. 3.5, 4.6): every test video of a split scored by a trained model.

Per test video, ``positions`` clips (20 in sec. 4.6) start at evenly spaced frames from the first
to the last possible start (:func:`fusionnet.data.clip_positions`); each is T snippets ``stride``
frames apart (the middle of the training stride range unless given) and is also seen horizontally
flipped (the x flow becomes ``255 - q``, as in training; :class:`fusionnet.EvalDataset`). The
model is fully convolutional and sees the whole frame (or a centre crop): its score maps are
averaged. The raw fc8 scores of every head are averaged over positions and flips; the video's
prediction (``"combined"``) then averages the heads' fc8 scores (Table 4; both towers of the "+"
form), or their softmax for late fusion, as :meth:`TwoStreamNet.predict` does
(:func:`fusionnet.fusion.combine_heads`).

The differences from the paper's text (short videos, small frames) are those of the test clips:
see :mod:`fusionnet.data.sampling` and :mod:`fusionnet.data.datasets`. The outputs are written by
:mod:`fusionnet.engine.reports`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from flowkit import __version__
from flowkit.config import JsonConfig

from ..data.datasets import EvalDataset, iter_batches, make_eval_loader
from ..data.frames import open_frames
from ..data.splits import Split, check_available, load_split
from ..errors import ConfigError, EvaluationError
from ..fusion import TwoStreamNet, combine_heads, streams
from .checkpoint import CONFIG_NAME, Checkpoint, open_checkpoint
from .devices import autocast, resolve_device, to_device
from .metrics import Metrics, compute_metrics

__all__ = ["EvalConfig", "Evaluation", "evaluate"]


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
    device = resolve_device(config.device)
    if config.amp and device.type != "cuda":
        raise ConfigError("--amp needs a CUDA device")
    model = ckpt.build().to(device)
    sampling = dataclasses.replace(ckpt.sampling, streams=streams(ckpt.model))
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
    return (f"{ckpt.run / CONFIG_NAME}: the checkpoint's classes differ from those of {dataset} split "
            f"{number} ({detail}); evaluate on the split it was trained for")


@torch.no_grad()
def _score(model: TwoStreamNet, data_set: EvalDataset, config: EvalConfig, device: torch.device,
           progress: bool) -> dict[str, np.ndarray]:
    """Every head's fc8 scores ``(videos, C)``, averaged over each video's clips and flips."""
    loader = make_eval_loader(data_set, config.batch_size, config.workers, pin_memory=device.type == "cuda")
    sums: dict[str, torch.Tensor] = {}
    amp = torch.bfloat16 if config.amp else None
    for batch in _bar(iter_batches(loader), len(loader), progress):
        with autocast(device, amp):
            heads = model(**to_device(batch, device))
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
