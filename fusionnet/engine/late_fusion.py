"""Late fusion of score files (Table 6): another method's scores, or ours, averaged video by video.

A score file (``predictions.jsonl`` of ``tsf evaluate``, or another method's) has one JSON object
per line: ``{"id": str, "label": int, "scores": [float, ...]}``; ours adds ``"heads"``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flowkit import atomic_write

from ..errors import ScoresError
from .metrics import Metrics, compute_metrics

__all__ = ["FusedScores", "ScoreFile", "fuse_scores", "read_scores", "score_line", "write_scores"]


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


def score_line(vid: str, label: int, scores: Sequence[float],
               heads: Mapping[str, Sequence[float]] | None = None) -> str:
    """One line of a score file, the scores rounded to 6 decimals; ``heads``: each head's scores too."""
    row: dict[str, Any] = {"id": vid, "label": int(label), "scores": _rounded(scores)}
    if heads is not None:
        row["heads"] = {name: _rounded(s) for name, s in heads.items()}
    return json.dumps(row)


def write_scores(path: str | os.PathLike, ids: Sequence[str], labels: Sequence[int], scores: np.ndarray,
                 heads: Mapping[str, np.ndarray] | None = None) -> None:
    """Write a score file (atomically) that :func:`read_scores` reads: a line per video of ``ids``.

    Args:
        path: the file.
        ids, labels: the videos and their labels.
        scores: ``(N, C)``, a row per video.
        heads: head name -> ``(N, C)`` scores, written as each line's ``"heads"`` (``predictions.jsonl``).
    """
    lines = [score_line(vid, label, scores[i], None if heads is None else {n: s[i] for n, s in heads.items()})
             for i, (vid, label) in enumerate(zip(ids, labels))]
    atomic_write(path, ("\n".join(lines) + "\n").encode())


def _rounded(row: Sequence[float]) -> list[float]:
    return [round(float(x), 6) for x in row]


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
