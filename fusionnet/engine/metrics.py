"""Video-level metrics of a set of scores: accuracy (the paper's figure), mean class accuracy, top-1,
top-5 and the confusion matrix."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EvaluationError

__all__ = ["Metrics", "compute_metrics"]

_TOP = 5  # the top-k accuracy reported besides top-1


@dataclass(frozen=True)
class Metrics:
    """Video-level metrics of one set of scores."""

    accuracy: float  # fraction of videos whose top class is right (the paper's figure)
    mean_class_accuracy: float  # accuracy averaged over the classes that have test videos
    top1: float  # equals accuracy; reported under both names as the tables do
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
