"""Seconds per frame pair at 340x256 for every method and backend available here, and the ratio to OpenCV.

Usage: python benchmarks/flow_speed.py [--pairs 6] [--method tvl1 --method brox] [--preset NAME]
       [--batch 1 --batch 8 ...]

Frames come from ../shared/data/videos/demo.mp4 (340x256, a real action clip) when present, else
from a generated textured pair of the same size. Every backend runs in this process on the same
frames, so the ratios compare like with like. Batches (numpy, cupy) time whole batches and divide.
Brox has no OpenCV CPU backend: its ratios are to OpenCV's TV-L1 (preset ``opencv``) on the same frames.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from flowkit import METHODS, compute_flow, cuda_status
from flowkit.datasets.known_flow import smooth_flow, texture, warped_pair

VIDEO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "videos" / "demo.mp4"


def frames(count: int) -> tuple[np.ndarray, str]:
    """``count + 1`` consecutive gray 340x256 frames and where they came from."""
    if VIDEO.is_file():
        import av

        with av.open(str(VIDEO)) as container:
            decoded = [f.to_ndarray(format="gray") for _, f in zip(range(count + 1), container.decode(video=0))]
        return np.stack(decoded), f"{VIDEO.name} frames 0-{count}"
    base = texture(256, 340)
    out = [warped_pair(base, smooth_flow(256, 340, 4.0, seed=i))[0] for i in range(count + 1)]
    return np.stack(out), "generated textured frames"


PRESETS = {"tvl1": ["opencv", "opencv-cuda"], "brox": ["denseflow"]}  # what each method runs by default


def seconds_per_pair(video: np.ndarray, method: str, backend: str, preset: str, batch: int) -> float:
    prev, nxt = video[:-1], video[1:]
    times = []
    for start in range(0, len(prev) - batch + 1, batch):
        t0 = time.perf_counter()
        compute_flow(prev[start:start + batch], nxt[start:start + batch], method=method, backend=backend,
                     params=preset)
        times.append((time.perf_counter() - t0) / batch)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--method", action="append", choices=METHODS, help="flow method (repeatable)")
    parser.add_argument("--preset", action="append", help="preset of every chosen method (repeatable)")
    parser.add_argument("--batch", type=int, action="append", help="batch sizes for numpy and cupy")
    args = parser.parse_args()
    video, origin = frames(max(args.pairs, max(args.batch or [1])))
    runs = [("numpy", b) for b in args.batch or [1]]
    if cuda_status() is None:
        runs += [("cupy", b) for b in args.batch or [1, 8, 32]]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, OpenCV threads {cv2.getNumThreads()}; "
          f"{origin}, {video.shape[2]}x{video.shape[1]}")
    for method in args.method or list(METHODS):
        for preset in args.preset or PRESETS[method]:
            print(f"\n### {method}, preset `{preset}`\n")
            print("| backend | batch | s / pair | pairs / s | ratio to opencv |\n|---|---|---|---|---|")
            # Brox has no OpenCV backend: compare with OpenCV's TV-L1 at its defaults
            reference_run = ("tvl1", "opencv") if method == "brox" else (method, preset)
            reference = seconds_per_pair(video, reference_run[0], "opencv", reference_run[1], 1)
            label = "opencv (TV-L1)" if method == "brox" else "opencv"
            print(f"| {label} | 1 | {reference:.3f} | {1 / reference:.2f} | 1.00 |", flush=True)
            for backend, batch in runs:
                if backend == "cupy":
                    seconds_per_pair(video, method, backend, preset, batch)  # warm-up: kernel compilation
                s = seconds_per_pair(video, method, backend, preset, batch)
                print(f"| {backend} | {batch} | {s:.3f} | {1 / s:.2f} | {s / reference:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
