"""Host seconds per frame pair that a GPU extraction worker spends outside the solver.

A worker of ``tsf extract-flow --backend cupy`` stacks a batch's distinct frames
(:func:`flowkit.extract.pipeline.distinct_frames`) and hands them to the device as uint8; the gray
conversion and the quantisation of the flow run there. The reference is the same batch handled
on the host, as the CPU backends do: both frames of every pair stacked, converted to gray and the
flow quantised with NumPy. At 1,000 pairs per second a GPU leaves 1 ms per pair, so host work of
that order would cap the rate. Timings are the median of ``--repeats`` runs after a warm-up (the
first touch of fresh memory costs several times more).

    python benchmarks/worker_host_cost.py [--batch 256] [--size 340x256] [--repeats 5]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np

from flowkit.extract.pipeline import distinct_frames
from flowkit.io.quantize import quantize
from flowkit.solvers.imgops import to_gray


def _median_seconds(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256, help="frame pairs per batch")
    parser.add_argument("--size", default="340x256", help="frame size WxH")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (height, width, 3), np.uint8) for _ in range(args.batch + 1)]
    pairs = list(itertools.pairwise(frames))
    flow = rng.normal(0, 5, (args.batch, height, width, 2)).astype(np.float32)

    def on_host() -> None:
        to_gray(np.stack([a for a, _ in pairs]))
        to_gray(np.stack([b for _, b in pairs]))
        quantize(flow)

    def worker() -> None:
        distinct_frames(pairs)

    host, ours = (_median_seconds(fn, args.repeats) / args.batch * 1e3 for fn in (on_host, worker))
    print(f"batch {args.batch} pairs of {args.size}, median of {args.repeats}")
    print("| host work per pair | ms |")
    print("|---|---|")
    print(f"| stack both frames, gray and quantise on the host (reference) | {host:.3f} |")
    print(f"| GPU worker: stack the distinct frames once | {ours:.3f} |")
    print(f"ratio (ours / reference, time): {ours / host:.3f}")


if __name__ == "__main__":
    main()
