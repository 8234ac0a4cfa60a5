"""Pairs per second of the fused TV-L1 and Brox solvers on one GPU at 340x256, with accuracy and peers.

Batch sizes 1 to 256 by default.

Usage: python benchmarks/gpu_flow_speed.py [--method tvl1|brox] [--batch 1 --batch 8 ...]
       [--per-launch 1 --per-launch 4 ...] [--poll 10 --poll 30 ...] [--preset NAME] [--repeats 3]
       [--data ../shared/data] [--cucim-pairs 8] [--json results.json]

Frames are consecutive frames of ../shared/data/videos/demo.mp4 (340x256, a real action clip),
repeated to fill the largest batch; they are uploaded once as float32 gray, and each timing covers
the whole flow call on device arrays (pyramid, warpings, iterations) up to a device
synchronisation. For TV-L1 each ``--per-launch`` K times the fused solver
(:class:`flowkit.solvers.fused.tvl1.FusedTVL1`) with K primal-dual iterations per kernel launch, and each
``--poll`` P with P iterations between two reads of the pairs' states by the host (defaults: the
solver's), side by side at every batch size; Brox has one fused solver
(:class:`flowkit.solvers.fused.brox.FusedBrox`). In the same run:

- the array-code CuPy solver (:func:`flowkit.solvers.tvl1.tvl1` or :func:`flowkit.solvers.brox.brox`,
  the fused kernels' twin) at one batch size;
- for TV-L1, cuCIM's ``optical_flow_tvl1`` (a peer on CuPy, one pair per call) when cuCIM is
  installed;
- end-point error on the ground-truth pairs under ``DATA/flow-gt`` of our fused solver, and of a
  CPU reference with the same parameters: OpenCV's DualTVL1 (when ``cv2.optflow`` is available)
  and cuCIM for TV-L1, our NumPy solver for Brox (OpenCV has no CPU Brox).

Prints a Markdown table per part and the ratios ours / peer; exits 1 without a usable device.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from flowkit import (
    DEFAULT_PRESETS,
    compute_flow,
    cuda_status,
    endpoint_error,
    find_ground_truth,
    flow_params,
    read_flo,
    read_image,
)
from flowkit.solvers.brox import brox
from flowkit.solvers.fused.brox import brox_fused
from flowkit.solvers.fused.tvl1 import PER_LAUNCH, POLL, tvl1_fused
from flowkit.solvers.tvl1 import tvl1

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def clip_frames(video: Path, count: int) -> np.ndarray:
    """``count`` gray frames of ``video`` (cycled when it is shorter), ``(count, H, W)`` uint8."""
    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    if len(frames) < 2:
        raise SystemExit(f"{video}: could not decode two frames")
    return np.stack([frames[i % len(frames)] for i in range(count)])


def timed(fn, repeats: int) -> float:
    """Median seconds of ``fn()`` after one warm-up call, each ended by a device synchronisation."""
    import cupy

    fn()
    cupy.cuda.Device().synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        cupy.cuda.Device().synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cucim_flow(i0: np.ndarray, i1: np.ndarray) -> np.ndarray:
    """cuCIM's TV-L1 flow of one pair (its defaults), ``(H, W, 2)`` x then y, on the host."""
    import cupy
    from cucim.skimage.registration import optical_flow_tvl1

    v, u = optical_flow_tvl1(cupy.asarray(i0, cupy.float32), cupy.asarray(i1, cupy.float32))
    return cupy.asnumpy(cupy.stack([u, v], axis=-1))


def have_cucim() -> bool:
    try:
        import cucim.skimage.registration  # noqa: F401
    except Exception as e:  # ImportError, or a CUDA library it cannot load
        print(f"cuCIM unavailable: {type(e).__name__}: {e}", file=sys.stderr)
        return False
    return True


def fused_solvers(args: argparse.Namespace) -> dict[str, Callable[[Any, Any], Any]]:
    """The fused solvers to time, by label: one per ``--per-launch`` K for TV-L1, one for Brox."""
    params = flow_params(args.method, args.preset)
    if args.method == "brox":
        return {"tsf fused": lambda i0, i1: brox_fused(i0, i1, params)}
    return {f"tsf fused, {k} per launch" + (f", poll {poll}" if args.poll != [POLL] else ""):
            functools.partial(tvl1_fused, params=params, poll=poll, iterations_per_launch=k)
            for k in args.per_launch for poll in args.poll}


def speed(args: argparse.Namespace, results: dict) -> None:
    import cupy

    video = args.data / "videos" / "demo.mp4"
    gray = cupy.asarray(clip_frames(video, max(args.batch) + 1)).astype(cupy.float32)
    params = flow_params(args.method, args.preset)
    print(f"\n## {args.method} pairs per second at {gray.shape[2]}x{gray.shape[1]} ({video.name}, "
          f"preset {args.preset})\n")
    print("| solver | batch | ms per call | pairs/s |\n| --- | ---: | ---: | ---: |")
    rows = []
    for batch in args.batch:
        for label, solve in fused_solvers(args).items():
            s = timed(lambda b=batch, solve=solve: solve(gray[:b], gray[1:b + 1]), args.repeats)
            rows.append({"solver": label, "batch": batch, "seconds": s, "pairs_per_second": batch / s})
            print(f"| {label} | {batch} | {1000 * s:.1f} | {batch / s:.1f} |", flush=True)
    batch = min(32, max(args.batch))
    twin = brox if args.method == "brox" else tvl1
    s = timed(lambda: twin(gray[:batch], gray[1:batch + 1], params), 1)
    rows.append({"solver": "array", "batch": batch, "seconds": s, "pairs_per_second": batch / s})
    print(f"| tsf array code (twin) | {batch} | {1000 * s:.1f} | {batch / s:.1f} |")
    peer = cucim_speed(args, gray) if args.method == "tvl1" else None
    if peer is not None:
        rows.append(peer)
        print(f"| cuCIM optical_flow_tvl1 | 1 | {1000 * peer['seconds']:.1f} "
              f"| {peer['pairs_per_second']:.1f} |")
    print()
    for r in rows:
        if r["batch"] == batch and r["solver"] != "array":
            print(f"{r['solver']} / array code at batch {batch}: "
                  f"**{s / r['seconds']:.1f}x** the pairs per second")
    if peer is not None:
        best = max(r["pairs_per_second"] for r in rows if r["solver"] not in ("array", "cucim"))
        results["ratio_fused_best_to_cucim"] = best * peer["seconds"]
        print(f"ours (best batch) / cuCIM: **{best * peer['seconds']:.1f}x** the pairs per second")
    results["speed"] = rows


def cucim_speed(args: argparse.Namespace, gray: Any) -> dict | None:
    """cuCIM's TV-L1 on ``--cucim-pairs`` pairs, one per call; None without cuCIM."""
    import cupy

    if not have_cucim():
        print("cuCIM is not installed: no peer timing", file=sys.stderr)
        return None
    host = cupy.asnumpy(gray[: args.cucim_pairs + 1])
    cucim_flow(host[0], host[1])
    cupy.cuda.Device().synchronize()
    start = time.perf_counter()
    for i in range(args.cucim_pairs):
        cucim_flow(host[i], host[i + 1])
    s = (time.perf_counter() - start) / args.cucim_pairs
    return {"solver": "cucim", "batch": 1, "seconds": s, "pairs_per_second": 1 / s}


def accuracy(args: argparse.Namespace, results: dict) -> None:
    pairs = find_ground_truth(args.data / "flow-gt")
    if not pairs:
        print(f"\nno ground-truth pairs under {args.data / 'flow-gt'}: accuracy skipped")
        return
    params = flow_params(args.method, args.preset)
    if args.method == "brox":
        reference = "tsf numpy (CPU)"
        references = {reference: lambda i0, i1: compute_flow(i0, i1, "brox", "numpy", params)}
    else:
        reference = "OpenCV DualTVL1 (CPU)"
        references = {}
        if hasattr(cv2, "optflow"):
            references[reference] = lambda i0, i1: compute_flow(i0, i1, backend="opencv", params=params)
        if have_cucim():
            references["cuCIM"] = lambda i0, i1: cucim_flow(_gray(i0), _gray(i1))
    import cupy

    fused = fused_solvers(args)
    columns = [*fused, *references]
    print(f"\n## End-point error on {len(pairs)} ground-truth pairs ({args.method}, preset {args.preset})\n")
    print("| pair | " + " | ".join(columns) + " |\n|" + " --- |" * (len(columns) + 1))
    rows = []
    for pair in pairs:
        i0, i1 = read_image(pair.frame0), read_image(pair.frame1)
        truth = read_flo(pair.flow)
        g0, g1 = (cupy.asarray(_gray(i)[None]) for i in (i0, i1))
        row = {"pair": pair.name}
        for label, solve in fused.items():
            row[label] = endpoint_error(cupy.asnumpy(solve(g0, g1)[0]), truth)
        for label, solve in references.items():
            row[label] = endpoint_error(solve(i0, i1), truth)
        rows.append(row)
        print(f"| {pair.name} | " + " | ".join(_cell(row, key) for key in columns) + " |")
    means = {key: float(np.mean([r[key] for r in rows])) for key in columns}
    print("| **mean** | " + " | ".join(_cell(means, key) for key in columns) + " |")
    if reference in means:
        for label in fused:
            print(f"\n{label} / {reference} mean EPE: **{means[label] / means[reference]:.4f}**")
    else:
        print("\ncv2.optflow (opencv-contrib) is not installed here: OpenCV's column is missing; "
              "benchmarks/flow_accuracy.py gives it on any CPU")
    results["accuracy"] = rows
    results["accuracy_means"] = means


def _gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) if image.ndim == 3 else image.astype(np.float32)


def _cell(row: dict, key: str) -> str:
    return f"{row[key]:.3f}" if key in row else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=("tvl1", "brox"), default="tvl1")
    parser.add_argument("--batch", type=int, action="append", help="batch sizes (default 1 to 256)")
    parser.add_argument("--per-launch", type=int, action="append",
                        help=f"TV-L1 iterations per kernel launch of the fused solver (default {PER_LAUNCH})")
    parser.add_argument("--poll", type=int, action="append",
                        help=f"TV-L1 iterations between two reads of the pairs' states (default {POLL})")
    parser.add_argument("--preset", help="the method's preset (default: opencv for tvl1, denseflow for brox)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DATA, help="folder with videos/demo.mp4 and flow-gt/")
    parser.add_argument("--cucim-pairs", type=int, default=8)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    args.batch = sorted(args.batch or BATCHES)
    args.per_launch = args.per_launch or [PER_LAUNCH]
    args.poll = args.poll or [POLL]
    args.preset = args.preset or DEFAULT_PRESETS[args.method]
    if (reason := cuda_status()) is not None:
        print(f"no GPU: {reason}", file=sys.stderr)
        return 1
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    device = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    print(f"device: {device}; CuPy {cupy.__version__}; OpenCV {cv2.__version__}; {platform.machine()}")
    results: dict = {"device": device, "method": args.method, "preset": args.preset}
    speed(args, results)
    if not args.skip_accuracy:
        accuracy(args, results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
