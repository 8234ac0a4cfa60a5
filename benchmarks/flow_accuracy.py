"""End-point error of each TV-L1 backend on ground-truth pairs, side by side with OpenCV, and of Brox.

Usage: python benchmarks/flow_accuracy.py [--data ../shared/data/flow-gt] [--method tvl1 --method brox]
       [--preset opencv --preset opencv-cuda] [--compare accurate]

TV-L1: a Markdown table per preset: EPE and seconds of the ``opencv`` backend (cv2 DualTVL1) and
of our ``numpy`` backend (and ``cupy`` when a CUDA device is usable) with the same parameters,
and the ratio of our EPE to OpenCV's. Then the ``--compare`` preset (default ``accurate``) on our
backends next to OpenCV's defaults and scikit-image's ``optical_flow_tvl1`` defaults (when
scikit-image is installed), EPE and seconds per pair, against three bars: on every pair at most
1.03 times the better reference, a mean at most 0.9 times the better mean, and numpy time per
pair at most OpenCV's.

Brox (default parameters): EPE and seconds next to OpenCV's TV-L1 (preset ``opencv``) on the
ground-truth pairs, then mean EPE on generated 256x192 pairs: a texture warped by a smooth flow
of up to 1, 2, 4 or 8 px, and the same behind a foreground ellipse moving by (4, -3) px.

Exits 1 if a TV-L1 ratio leaves [0.97, 1.03], if the compared preset misses a bar, if Brox's
mean EPE on the ground-truth pairs exceeds 1.25 times TV-L1's, or if its mean EPE on the generated
smooth flows exceeds TV-L1's.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

from flowkit import (
    METHODS,
    GroundTruthPair,
    compute_flow,
    cuda_status,
    endpoint_error,
    find_ground_truth,
    read_flo,
    read_image,
)
from flowkit.datasets.known_flow import layered_pair, smooth_flow, texture, warped_pair
from flowkit.solvers.imgops import to_gray

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "flow-gt"
GENERATED_PX = (1.0, 2.0, 4.0, 8.0)  # largest background motion of the generated pairs
GENERATED_SEEDS = range(5)


def timed_epe(frame0: np.ndarray, frame1: np.ndarray, truth: np.ndarray,
              **kwargs: object) -> tuple[float, float]:
    """``(EPE, seconds)`` of one ``compute_flow`` call."""
    start = time.perf_counter()
    flow = compute_flow(frame0, frame1, **kwargs)
    return endpoint_error(flow, truth), time.perf_counter() - start


def tvl1_tables(pairs: list[GroundTruthPair], presets: list[str], backends: list[str]) -> bool:
    """Our TV-L1 backends against OpenCV's per preset; True when every EPE is within 3%."""
    worst = 0.0
    for preset in presets:
        print(f"\n### TV-L1, preset `{preset}`\n")
        head = " | ".join(f"{b} EPE | {b} s" for b in backends)
        ratios = " | ".join(f"{b}/opencv" for b in backends[1:])
        print(f"| pair | {head} | {ratios} |")
        print("|---" * (1 + 2 * len(backends) + len(backends) - 1) + "|")
        for pair in pairs:
            frame0, frame1 = read_image(pair.frame0), read_image(pair.frame1)
            truth = read_flo(pair.flow)
            cells, errors = [], {}
            for backend in backends:
                errors[backend], seconds = timed_epe(frame0, frame1, truth, backend=backend, params=preset)
                cells += [f"{errors[backend]:.3f}", f"{seconds:.2f}"]
            rel = [errors[b] / errors["opencv"] for b in backends[1:]]
            worst = max(worst, *(abs(r - 1) for r in rel))
            ratio_cells = " | ".join(f"{r:.4f}" for r in rel)
            print(f"| {pair.name} | {' | '.join(cells)} | {ratio_cells} |", flush=True)
    print(f"\nlargest EPE deviation from OpenCV: {100 * worst:.2f}%")
    return worst <= 0.03


def skimage_epe(frame0: np.ndarray, frame1: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """``(EPE, seconds)`` of scikit-image's ``optical_flow_tvl1`` with its defaults on 8-bit gray."""
    from skimage.registration import optical_flow_tvl1

    gray0, gray1 = (to_gray(f).astype(np.uint8) for f in (frame0, frame1))  # exact for uint8 RGB
    start = time.perf_counter()
    v, u = optical_flow_tvl1(gray0, gray1)
    seconds = time.perf_counter() - start
    return endpoint_error(np.stack([u, v], axis=-1), truth), seconds


def preset_against_references(pairs: list[GroundTruthPair], preset: str, ours: list[str]) -> bool:
    """``preset`` next to OpenCV's and scikit-image's defaults; True when it meets the three bars."""
    references = ["OpenCV defaults", "scikit-image defaults"]
    if importlib.util.find_spec("skimage") is None:
        print("\nscikit-image is not installed (pip install scikit-image): OpenCV is the only reference")
        references = references[:1]
    print(f"\n### TV-L1 `{preset}` against OpenCV's and scikit-image's defaults\n")
    columns = [*references, *(f"`{preset}` {b}" for b in ours)]
    print("| pair | " + " | ".join(f"{c} EPE | s" for c in columns) + " | ours / better |")
    print("|---" * (2 + 2 * len(columns)) + "|")
    epe, secs = {c: [] for c in columns}, {c: [] for c in columns}
    for pair in pairs:
        frame0, frame1 = read_image(pair.frame0), read_image(pair.frame1)
        truth = read_flo(pair.flow)
        runs = [timed_epe(frame0, frame1, truth, backend="opencv", params="opencv")]
        if len(references) == 2:
            runs.append(skimage_epe(frame0, frame1, truth))
        runs += [timed_epe(frame0, frame1, truth, backend=b, params=preset) for b in ours]
        for column, (error, seconds) in zip(columns, runs):
            epe[column].append(error)
            secs[column].append(seconds)
        better = min(epe[c][-1] for c in references)
        cells = " | ".join(f"{e:.3f} | {t:.2f}" for e, t in runs)
        print(f"| {pair.name} | {cells} | {runs[len(references)][0] / better:.3f} |", flush=True)
    means = {c: float(np.mean(epe[c])) for c in columns}
    mine = columns[len(references)]
    best_mean = min(means[c] for c in references)
    cells = " | ".join(f"**{means[c]:.3f}** | {np.mean(secs[c]):.2f}" for c in columns)
    print(f"| **mean** | {cells} | {means[mine] / best_mean:.3f} |")
    worse = [p.name for i, p in enumerate(pairs) if epe[mine][i] > 1.03 * min(epe[c][i] for c in references)]
    slower = [p.name for i, p in enumerate(pairs) if secs[mine][i] > secs[references[0]][i]]
    print(f"\npairs within 1.03x the better reference: {len(pairs) - len(worse)} of {len(pairs)}"
          + (f" (not: {', '.join(worse)})" if worse else ""))
    print(f"mean EPE {means[mine]:.3f} / better mean {best_mean:.3f} = {means[mine] / best_mean:.3f} "
          "(target <= 0.9)")
    print(f"numpy time at most OpenCV's defaults' on {len(pairs) - len(slower)} of {len(pairs)} pairs"
          + (f" (not: {', '.join(slower)})" if slower else "")
          + f"; mean {np.mean(secs[mine]):.2f} s against {np.mean(secs[references[0]]):.2f} s")
    return not worse and not slower and means[mine] <= 0.9 * best_mean


def brox_ground_truth(pairs: list[GroundTruthPair], backends: list[str]) -> bool:
    """Brox next to OpenCV's TV-L1 on the ground-truth pairs; True when its mean is <= 1.25x."""
    print("\n### Brox against OpenCV's TV-L1 (preset `opencv`), ground-truth pairs\n")
    head = " | ".join(f"Brox {b} EPE | s" for b in backends)
    print(f"| pair | TV-L1 opencv EPE | s | {head} | Brox/TV-L1 |")
    print("|---" * (4 + 2 * len(backends)) + "|")
    tvl1_errors, brox_errors = [], []
    for pair in pairs:
        frame0, frame1 = read_image(pair.frame0), read_image(pair.frame1)
        truth = read_flo(pair.flow)
        reference, seconds = timed_epe(frame0, frame1, truth, backend="opencv")
        cells = [f"{reference:.3f}", f"{seconds:.2f}"]
        for backend in backends:
            error, seconds = timed_epe(frame0, frame1, truth, method="brox", backend=backend)
            cells += [f"{error:.3f}", f"{seconds:.2f}"]
            if backend == "numpy":
                brox_errors.append(error)
        tvl1_errors.append(reference)
        print(f"| {pair.name} | {' | '.join(cells)} | {brox_errors[-1] / reference:.3f} |", flush=True)
    ratio = np.mean(brox_errors) / np.mean(tvl1_errors)
    blanks = " |" * (2 * len(backends) - 1)
    print(f"| **mean** | {np.mean(tvl1_errors):.3f} | | {np.mean(brox_errors):.3f} |{blanks} {ratio:.3f} |")
    print(f"\nBrox mean EPE / TV-L1 mean EPE on the ground-truth pairs: {ratio:.3f} (target <= 1.25)")
    return ratio <= 1.25


def generated(kind: str, max_px: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(prev, next, truth)`` of one generated 256x192 pair."""
    if kind == "layered":
        return layered_pair(192, 256, seed=seed, max_px=max_px)
    truth = smooth_flow(192, 256, max_px=max_px, seed=seed)
    return (*warped_pair(texture(192, 256, seed), truth), truth)


def brox_generated() -> bool:
    """Brox and OpenCV's TV-L1 on generated pairs; True when Brox's mean on smooth flows is <= TV-L1's."""
    print("\n### Brox against OpenCV's TV-L1 (preset `opencv`), generated 256x192 pairs\n")
    print("| motion | pairs | TV-L1 opencv mean EPE | Brox numpy mean EPE | Brox <= TV-L1 on |")
    print("|---|---|---|---|---|")
    means = {}
    for kind in ("smooth", "layered"):
        every = []
        for max_px in GENERATED_PX:
            rows = []
            for seed in GENERATED_SEEDS:
                prev, nxt, truth = generated(kind, max_px, seed)
                rows.append((timed_epe(prev, nxt, truth, backend="opencv")[0],
                             timed_epe(prev, nxt, truth, method="brox", backend="numpy")[0]))
            every += rows
            print(_generated_row(f"{kind}, up to {max_px:g} px", rows), flush=True)
        print(_generated_row(f"**{kind}, all**", every), flush=True)
        means[kind] = np.mean(every, axis=0)
    print(f"\nBrox mean EPE on the smooth flows: {means['smooth'][1]:.4f}, TV-L1's: {means['smooth'][0]:.4f} "
          "(target: Brox <= TV-L1)")
    return bool(means["smooth"][1] <= means["smooth"][0])


def _generated_row(label: str, rows: list[tuple[float, float]]) -> str:
    tvl1, brox = np.mean(rows, axis=0)
    wins = sum(b <= t for t, b in rows)
    return f"| {label} | {len(rows)} | {tvl1:.4f} | {brox:.4f} | {wins} of {len(rows)} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--method", action="append", choices=METHODS, help="flow method (repeatable)")
    parser.add_argument("--preset", action="append", help="TV-L1 preset run on both backends (repeatable)")
    parser.add_argument("--compare", default="accurate",
                        help="TV-L1 preset compared with OpenCV's and scikit-image's defaults")
    args = parser.parse_args()
    pairs = find_ground_truth(args.data) if args.data.is_dir() else []
    if not pairs:
        print(f"no ground-truth pairs under {args.data}", file=sys.stderr)
        return 2
    ours = ["numpy"] + (["cupy"] if cuda_status() is None else [])
    methods = args.method or list(METHODS)
    met = True
    if "tvl1" in methods:
        met &= tvl1_tables(pairs, args.preset or ["opencv", "opencv-cuda", "accurate"], ["opencv", *ours])
        met &= preset_against_references(pairs, args.compare, ours)
    if "brox" in methods:
        met &= brox_ground_truth(pairs, ours)
        met &= brox_generated()
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
