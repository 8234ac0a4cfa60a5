"""Frames per second of ``tsf extract-flow`` against a bare loop of its flow solver.

The reference is the least any tool can do: on the CPU, two processes, each calling OpenCV's
DualTVL1 ``calc`` on frames already decoded and resized in memory (one OpenCV thread per process,
the fastest setting for two processes on two cores); with ``--devices``, one process per GPU
calling our fused TV-L1 (``compute_flow(..., backend="cupy")``) on batches of ``--batch-pairs``
pairs already on the device, with the solver compiled and warmed up first. No decoding, encoding
or writing is timed there. Ours is the whole command, process start-up included: decoding,
resizing, flow, quantisation, JPEG encoding and writing. Both run in this one invocation, on the
same clips, one after the other; the ratio (ours / reference, frames per second) is the figure
the README reports: on a GPU it is the fraction of the solver's rate the command keeps.

The clips are the first frames of ``../shared/data/videos/demo.mp4`` (a real 340x256 clip,
cycled when more frames are asked for), re-encoded as several videos, or a generated texture
when the shared data is absent.

    python benchmarks/extract_speed.py [--clips 4] [--frames 24] [--jobs 2]
    python benchmarks/extract_speed.py --devices 0 [--clips 16] [--frames 250] [--batch-pairs 128]
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

from flowkit import ExtractConfig, Resize, TVL1Params, VideoReader, cuda_status
from flowkit.datasets.known_flow import moving_frames, write_video

ROOT = Path(__file__).resolve().parents[1]
SHARED_VIDEO = ROOT.parent / "shared" / "data" / "videos" / "demo.mp4"


def make_clips(folder: Path, clips: int, frames: int) -> list[Path]:
    """``clips`` videos of ``frames`` frames each, cut from the shared clip or generated."""
    if SHARED_VIDEO.exists():
        with VideoReader(SHARED_VIDEO, Resize(short_side=None)) as video:
            clip = np.stack([f for _, f in zip(range(clips * frames), video)])
        source = np.concatenate([clip] * -(-clips * frames // len(clip)))
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


def _bare_gpu_worker(paths: list[Path], device: int, batch: int, barrier: multiprocessing.Barrier,
                    results: multiprocessing.Queue) -> None:
    import cupy

    from flowkit import compute_flow

    cupy.cuda.Device(device).use()
    videos = []
    for path in paths:
        with VideoReader(path) as video:
            videos.append(cupy.asarray(np.stack(list(video))))
    batches = [(v[i:i + batch], v[i + 1:i + 1 + batch]) for v in videos for i in range(0, len(v) - 1, batch)]
    compute_flow(*batches[0], backend="cupy")  # compiles the kernels
    cupy.cuda.Device().synchronize()
    barrier.wait()
    start = time.time()
    for prev, next_ in batches:
        compute_flow(prev[: len(next_)], next_, backend="cupy")
    cupy.cuda.Device().synchronize()
    results.put((start, time.time(), sum(len(v) for v in videos)))


def bare_loop(paths: list[Path], worker, slots: list[tuple]) -> tuple[float, int]:
    """Seconds and frames of a reference loop: one process per slot (``worker(paths, *slot,
    barrier, results)``), videos dealt round-robin, timed from the first start to the last end."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(slots)), context.Queue()
    processes = [context.Process(target=worker, args=(paths[i::len(slots)], *slot, barrier, results))
                 for i, slot in enumerate(slots)]
    for p in processes:
        p.start()
    timings = [results.get() for _ in processes]
    for p in processes:
        p.join()
    return max(t[1] for t in timings) - min(t[0] for t in timings), sum(t[2] for t in timings)


def ours(src: Path, out: Path, parallel: list[str], frames: int) -> float:
    """Wall-clock seconds of the whole command."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cli.main", "extract-flow", str(src), str(out), *parallel,
                    "--quiet"], cwd=ROOT, check=True)
    seconds = time.perf_counter() - start
    count = sum(int(line.split()[1]) for line in (out / "annotations.txt").read_text().splitlines())
    if count != frames:
        raise SystemExit(f"tsf extracted {count} frames, expected {frames}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--frames", type=int, default=24, help="frames per clip")
    parser.add_argument("--jobs", type=int, default=2, help="processes on the CPU")
    parser.add_argument("--devices", help="CUDA device ids, e.g. 0,1: time the cupy backend instead")
    parser.add_argument("--batch-pairs", type=int,
                        help="frame pairs per GPU call (default: the command's, 128 at 340x256)")
    args = parser.parse_args()
    args.batch_pairs = args.batch_pairs or ExtractConfig(backend="cupy").pairs_per_call(256, 340)
    devices = [int(d) for d in args.devices.split(",")] if args.devices else []
    if devices and (reason := cuda_status()) is not None:
        raise SystemExit(f"--devices needs CUDA: {reason}")
    work = Path(tempfile.mkdtemp(prefix="tsf-extract-speed-"))
    try:
        paths = make_clips(work / "src", args.clips, args.frames)
        total = args.clips * args.frames
        if devices:
            ref_seconds, ref_frames = bare_loop(paths, _bare_gpu_worker, [(d, args.batch_pairs) for d in devices])
            parallel = ["--backend", "cupy", "--devices", args.devices, "--batch-pairs", str(args.batch_pairs)]
        else:
            ref_seconds, ref_frames = bare_loop(paths, _bare_worker, [()] * args.jobs)
            parallel = ["--backend", "opencv", "--jobs", str(args.jobs)]
        assert ref_frames == total
        our_seconds = ours(work / "src", work / "out", parallel, total)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ref_fps, our_fps = total / ref_seconds, total / our_seconds
    source = "demo.mp4" if SHARED_VIDEO.exists() else "generated texture"
    where = f"GPUs {args.devices}, batch {args.batch_pairs}" if devices else f"{args.jobs} processes"
    reference = "bare fused TV-L1 loop on device frames" if devices else "bare cv2 DualTVL1 calc loop"
    print(f"{args.clips} clips x {args.frames} frames of {source}, 340x256, {where}")
    print("| run | seconds | frames/s |")
    print("|---|---|---|")
    print(f"| {reference} (reference) | {ref_seconds:.1f} | {ref_fps:.2f} |")
    print(f"| tsf extract-flow {' '.join(parallel)} | {our_seconds:.1f} | {our_fps:.2f} |")
    print(f"ratio (ours / reference, frames/s): {our_fps / ref_fps:.3f}")


if __name__ == "__main__":
    main()
