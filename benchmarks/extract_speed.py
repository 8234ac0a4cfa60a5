"""Frames per second of ``tsf extract-flow --backend opencv --jobs 2`` against a bare cv2 loop.

The reference is the least any tool can do: two processes, each calling OpenCV's DualTVL1
``calc`` on frames already decoded and resized in memory (one OpenCV thread per process, the
fastest setting for two processes on two cores), with no decoding, encoding or writing timed.
Ours is the whole command, process start-up included: decoding, resizing, flow, quantisation,
JPEG encoding and writing. Both run in this one invocation, on the same clips, one after the
other; the ratio (ours / reference, frames per second) is the figure the README reports.

The clips are the first frames of ``../shared/data/videos/demo.mp4`` (a real 340x256 clip),
re-encoded as several videos, or a generated texture when the shared data is absent.

    python benchmarks/extract_speed.py [--clips 4] [--frames 24] [--jobs 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from flowkit import Resize, TVL1Params, VideoReader
from flowkit.synthetic import moving_frames, write_video

ROOT = Path(__file__).resolve().parents[1]
SHARED_VIDEO = ROOT.parent / "shared" / "data" / "videos" / "demo.mp4"


def make_clips(folder: Path, clips: int, frames: int) -> list[Path]:
    """``clips`` videos of ``frames`` frames each, cut from the shared clip or generated."""
    if SHARED_VIDEO.exists():
        with VideoReader(SHARED_VIDEO, Resize(short_side=None)) as video:
            source = np.stack([f for _, f in zip(range(clips * frames), video)])
    else:
        source = moving_frames(clips * frames, 256, 340)
    return [write_video(folder / f"clip{i}.mp4", source[i * frames:(i + 1) * frames], codec="libx264")
            for i in range(clips)]


def _bare_worker(paths: list[Path], barrier: multiprocessing.Barrier, results: multiprocessing.Queue) -> None:
    cv2.setNumThreads(1)
    params = TVL1Params()
    videos = []
    for path in paths:
        with VideoReader(path) as video:
            videos.append([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in video])
    barrier.wait()
    start = time.time()
    frames = 0
    for gray in videos:
        for a, b in zip(gray, gray[1:]):
            solver = cv2.optflow.DualTVL1OpticalFlow_create(
                tau=params.tau, lambda_=params.lambda_, theta=params.theta, nscales=params.scales,
                warps=params.warps, epsilon=params.epsilon, innnerIterations=params.inner_iterations,
                outerIterations=params.outer_iterations, scaleStep=params.scale_step)
            solver.calc(a, b, None)
        frames += len(gray)
    results.put((start, time.time(), frames))


def bare_loop(paths: list[Path], jobs: int) -> tuple[float, int]:
    """Seconds and frames of the reference loop, videos dealt round-robin to ``jobs`` processes."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(jobs), context.Queue()
    processes = [context.Process(target=_bare_worker, args=(paths[i::jobs], barrier, results))
                 for i in range(jobs)]
    for p in processes:
        p.start()
    timings = [results.get() for _ in processes]
    for p in processes:
        p.join()
    return max(t[1] for t in timings) - min(t[0] for t in timings), sum(t[2] for t in timings)


def ours(src: Path, out: Path, jobs: int, frames: int) -> float:
    """Wall-clock seconds of the whole command."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cli.main", "extract-flow", str(src), str(out), "--backend",
                    "opencv", "--jobs", str(jobs), "--quiet"], cwd=ROOT, check=True)
    seconds = time.perf_counter() - start
    count = sum(int(line.split()[1]) for line in (out / "annotations.txt").read_text().splitlines())
    if count != frames:
        raise SystemExit(f"tsf extracted {count} frames, expected {frames}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--frames", type=int, default=24, help="frames per clip")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tsf-extract-speed-"))
    try:
        paths = make_clips(work / "src", args.clips, args.frames)
        total = args.clips * args.frames
        ref_seconds, ref_frames = bare_loop(paths, args.jobs)
        assert ref_frames == total
        our_seconds = ours(work / "src", work / "out", args.jobs, total)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ref_fps, our_fps = total / ref_seconds, total / our_seconds
    source = "demo.mp4" if SHARED_VIDEO.exists() else "generated texture"
    print(f"{args.clips} clips x {args.frames} frames of {source}, 340x256, {args.jobs} processes")
    print("| run | seconds | frames/s |")
    print("|---|---|---|")
    print(f"| bare cv2 DualTVL1 calc loop (reference) | {ref_seconds:.1f} | {ref_fps:.2f} |")
    print(f"| tsf extract-flow --backend opencv --jobs {args.jobs} | {our_seconds:.1f} | {our_fps:.2f} |")
    print(f"ratio (ours / reference, frames/s): {our_fps / ref_fps:.3f}")


if __name__ == "__main__":
    main()
