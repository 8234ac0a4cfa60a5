"""Seconds per clip of the fusion networks at 224x224: forward, and forward + backward.

Usage: python benchmarks/model_speed.py [--preset fusion3d --preset vggm-conv-relu5] [--repeats 2]
       [--device cpu|cuda] [--batch 1]

A clip is one sample of the preset: T = 5 snippets (RGB 3 x 224 x 224 and flow 20 x 224 x 224 each)
for fusion3d, one snippet for the Table 1 and 2 models. Forward runs in eval mode without
gradients; forward + backward runs in train mode and sums the cross-entropy of every head, as
training does. Each figure is the fastest of ``--repeats`` runs after one untimed warm-up, divided
by the batch size. FLOPs are multiply-adds (see fusionnet.describe).
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
import torch.nn.functional as F

from fusionnet import build_model, describe
from fusionnet.engine import resolve_device


def clip(model, batch: int, device: torch.device) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    cfg = model.config
    size = (batch, cfg.num_frames, cfg.input_size, cfg.input_size)
    rgb = torch.randn(size[0], 3, *size[1:], device=device) if model.spatial is not None else None
    flow = None
    if model.temporal is not None:
        flow = torch.randn(size[0], 2 * cfg.flow_frames, *size[1:], device=device)
    return rgb, flow


def timed(step, repeats: int, device: torch.device) -> float:
    """Fastest of ``repeats`` timed calls after a warm-up."""
    step()
    best = float("inf")
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def measure(preset: str, batch: int, repeats: int, device: torch.device) -> tuple[float, float]:
    torch.manual_seed(0)
    model = build_model(preset).to(device)
    rgb, flow = clip(model, batch, device)
    labels = torch.zeros(batch, dtype=torch.long, device=device)

    def forward() -> None:
        with torch.no_grad():
            model.eval()(rgb, flow)

    def forward_backward() -> None:
        model.train().zero_grad(set_to_none=True)
        sum(F.cross_entropy(logits, labels) for logits in model(rgb, flow).values()).backward()

    return timed(forward, repeats, device) / batch, timed(forward_backward, repeats, device) / batch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    args = parser.parse_args()
    device = resolve_device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"{platform.machine()} CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__}, {where}, batch {args.batch}, fastest of {args.repeats}\n")
    print("| preset | parameters | FLOPs / clip (multiply-adds) | forward s / clip "
          "| forward + backward s / clip |")
    print("|---|---|---|---|---|")
    for preset in args.preset or ["fusion3d", "vggm-conv-relu5"]:
        summary = describe(preset)
        fwd, fwd_bwd = measure(preset, args.batch, args.repeats, device)
        print(f"| {preset} | {summary.total_params:,} | {summary.macs / 1e9:.1f} G "
              f"| {fwd:.3f} | {fwd_bwd:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
