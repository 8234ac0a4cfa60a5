"""End-point error of each TV-L1 backend on ground-truth pairs, side by side with OpenCV.

Usage: python benchmarks/flow_accuracy.py [--data ../shared/data/flow-gt] [--preset opencv --preset opencv-cuda]

Prints a Markdown table per preset: EPE and seconds of the ``opencv`` backend (cv2 DualTVL1) and
of our ``numpy`` backend (and ``cupy`` when a CUDA device is usable) with the same parameters,
and the ratio of our EPE to OpenCV's. Exits 1 if a ratio leaves [0.97, 1.03].
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from flowkit import compute_flow, cuda_status, endpoint_error, find_ground_truth, read_flo, read_image

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "flow-gt"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--preset", action="append", help="TV-L1 preset (repeatable)")
    args = parser.parse_args()
    pairs = find_ground_truth(args.data) if args.data.is_dir() else []
    if not pairs:
        print(f"no ground-truth pairs under {args.data}", file=sys.stderr)
        return 2
    backends = ["opencv", "numpy"] + (["cupy"] if cuda_status() is None else [])
    worst = 0.0
    for preset in args.preset or ["opencv", "opencv-cuda"]:
        print(f"\n### preset `{preset}`\n")
        head = " | ".join(f"{b} EPE | {b} s" for b in backends)
        ratios = " | ".join(f"{b}/opencv" for b in backends[1:])
        print(f"| pair | {head} | {ratios} |")
        print("|---" * (1 + 2 * len(backends) + len(backends) - 1) + "|")
        for pair in pairs:
            frame0, frame1 = read_image(pair.frame0), read_image(pair.frame1)
            truth = read_flo(pair.flow)
            cells, errors = [], {}
            for backend in backends:
                start = time.perf_counter()
                flow = compute_flow(frame0, frame1, backend=backend, params=preset)
                seconds = time.perf_counter() - start
                errors[backend] = endpoint_error(flow, truth)
                cells += [f"{errors[backend]:.3f}", f"{seconds:.2f}"]
            rel = [errors[b] / errors["opencv"] for b in backends[1:]]
            worst = max(worst, *(abs(r - 1) for r in rel))
            print(f"| {pair.name} | {' | '.join(cells)} | {' | '.join(f'{r:.4f}' for r in rel)} |", flush=True)
    print(f"\nlargest EPE deviation from OpenCV: {100 * worst:.2f}%")
    return 0 if worst <= 0.03 else 1


if __name__ == "__main__":
    sys.exit(main())
