"""Flow accuracy against ground truth: end-point error and the layouts of public benchmarks."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FlowError

__all__ = ["GroundTruthPair", "endpoint_error", "find_ground_truth"]


@dataclass(frozen=True)
class GroundTruthPair:
    """Two frames and the true flow from the first to the second."""

    name: str  # e.g. "flyingchairs/0000000" or "sintel-clean/alley_1"
    frame0: Path
    frame1: Path
    flow: Path


def endpoint_error(flow: np.ndarray, truth: np.ndarray) -> float:
    """Mean Euclidean distance between two ``(H, W, 2)`` flows over the pixels where the truth is known.

    Raises:
        FlowError: shapes differ or no pixel has a known truth.
    """
    flow, truth = np.asarray(flow, np.float64), np.asarray(truth, np.float64)
    if flow.shape != truth.shape or flow.ndim != 3 or flow.shape[2] != 2:
        raise FlowError(f"flow {flow.shape} and truth {truth.shape} must both be (H, W, 2)")
    known = np.isfinite(truth).all(axis=2) & (np.abs(truth) < 1e9).all(axis=2)
    if not known.any():
        raise FlowError("the ground truth has no known pixel")
    return float(np.linalg.norm(flow - truth, axis=2)[known].mean())


def find_ground_truth(root: str | os.PathLike) -> list[GroundTruthPair]:
    """Pairs under ``root`` in the FlyingChairs and MPI-Sintel layouts, sorted by name.

    FlyingChairs: ``flyingchairs/<id>/<id>-img0.ppm``, ``<id>-img1.ppm``, ``<id>-gt.flo``.
    Sintel: ``sintel/<pass>/<scene>/frame_NNNN.png`` with ``sintel/gt/<scene>/frame_NNNN.flo``
    (flow from frame NNNN to NNNN + 1).
    """
    root = Path(root)
    pairs = []
    for flo in sorted(root.glob("flyingchairs/*/*-gt.flo")):
        stem = flo.name[: -len("-gt.flo")]
        img0, img1 = flo.with_name(f"{stem}-img0.ppm"), flo.with_name(f"{stem}-img1.ppm")
        if img0.is_file() and img1.is_file():
            pairs.append(GroundTruthPair(f"flyingchairs/{stem}", img0, img1, flo))
    for flo in sorted(root.glob("sintel/gt/*/frame_*.flo")):
        scene, number = flo.parent.name, re.fullmatch(r"frame_(\d+)\.flo", flo.name)
        if number is None:
            continue
        index, width = int(number.group(1)), len(number.group(1))
        for render in sorted(p for p in (root / "sintel").iterdir() if p.name != "gt"):
            img0 = render / scene / f"frame_{index:0{width}d}.png"
            img1 = render / scene / f"frame_{index + 1:0{width}d}.png"
            if img0.is_file() and img1.is_file():
                pairs.append(GroundTruthPair(f"sintel-{render.name}/{scene}", img0, img1, flo))
    return sorted(pairs, key=lambda p: p.name)
