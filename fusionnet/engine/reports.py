"""What an evaluation leaves for a reader: ``predictions.jsonl``, ``report.json``, ``per_class.csv``,
``confusion.png``, the mean over splits and a Markdown summary."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from flowkit import __version__, atomic_write, write_image

from .evaluate import Evaluation
from .late_fusion import write_scores

__all__ = ["confusion_image", "mean_report", "summary_markdown", "write_evaluation", "write_mean_report"]


def write_evaluation(evaluation: Evaluation, out: str | os.PathLike) -> dict[str, Any]:
    """Write ``predictions.jsonl``, ``report.json``, ``per_class.csv`` and ``confusion.png`` in ``out``.

    Returns:
        The report (as written to ``report.json``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_scores(out / "predictions.jsonl", evaluation.ids, evaluation.labels, evaluation.combined,
                 evaluation.heads)
    report = {**evaluation.report, "metrics": {k: m.to_dict() for k, m in evaluation.metrics.items()}}
    _write_json(out / "report.json", report)
    atomic_write(out / "per_class.csv", _per_class_csv(evaluation).encode())
    write_image(out / "confusion.png", confusion_image(np.array(evaluation.metrics["combined"].confusion),
                                                      evaluation.classes))
    return report


def write_mean_report(reports: Sequence[Mapping[str, Any]], out: str | os.PathLike) -> dict[str, Any]:
    """Write :func:`mean_report` of the splits' reports to ``out/report.json`` (``--split all``).

    Returns:
        The mean report, as written.
    """
    mean = mean_report(reports)
    _write_json(Path(out) / "report.json", mean)
    return mean


def _write_json(path: Path, record: Mapping[str, Any]) -> None:
    atomic_write(path, (json.dumps(record, indent=2) + "\n").encode())


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
