"""Fusion training samples per second through a DataLoader, from HDF5 shards and from rawframe folders.

A sample is the paper's fusion input (sec. 3.5): T = 5 RGB frames and 5 stacks of L = 10 flows
(20 channels), random start and stride in [1, 10], jittered crop rescaled to 224, random flip,
normalised float32 tensors; every JPEG is decoded in the DataLoader's worker processes. The same
clips are extracted once in each format with ``tsf extract-flow``'s library call (OpenCV TV-L1,
short side 256), then both loaders run in this one invocation, one after the other, on the same
items; the ratio is shards / rawframes.

The clips are cut from ``../shared/data/videos/demo.mp4`` (a real 340x256 clip) or, when the shared
data is absent, a generated 340x256 texture. Videos have 60 frames, enough for the longest clip
(4 x 10 + 10 flows), so that no stride is shortened and every sample decodes its full share.

    python benchmarks/loader_speed.py [--videos 2] [--workers 2] [--batch-size 8] [--batches 24] [--work DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from flowkit import ExtractConfig, Resize, RunOptions, VideoReader, extract, find_videos
from flowkit.datasets.known_flow import moving_frames, write_video
from fusionnet import ClipDataset, SamplingConfig, make_loader, open_frames

ROOT = Path(__file__).resolve().parents[1]
SHARED_VIDEO = ROOT.parent / "shared" / "data" / "videos" / "demo.mp4"
FRAMES = 60
FUSION = SamplingConfig(num_frames=5, flow_frames=10, stride=(1, 10), input_size=224)


def make_clips(folder: Path, videos: int) -> None:
    """``videos`` clips of :data:`FRAMES` frames at 340x256, cut from the shared clip or generated."""
    if SHARED_VIDEO.exists():
        with VideoReader(SHARED_VIDEO, Resize(short_side=None)) as video:
            source = np.stack([f for _, f in zip(range(videos * FRAMES), video)])
    else:
        source = moving_frames(videos * FRAMES, 256, 340)
    for i in range(videos):
        clip = source[(i * FRAMES) % len(source):][:FRAMES]
        write_video(folder / "demo" / f"v_demo_{i:02d}.mp4", clip, codec="libx264")


def extract_both(work: Path, videos: int) -> dict[str, Path]:
    """The clips extracted as rawframes and as HDF5 shards (finished videos are reused)."""
    source = work / "videos"
    if not source.exists():
        make_clips(source, videos)
    outs = {}
    for fmt in ("hdf5", "jpeg"):
        outs[fmt] = work / fmt
        config = ExtractConfig(backend="opencv", format=fmt, resize=Resize(short_side=256))
        extract(find_videos(source), outs[fmt], config, RunOptions(jobs=2))
    return outs


def samples_per_second(root: Path, workers: int, batch_size: int, batches: int) -> float:
    """Fusion samples per second over ``batches`` batches, after two warm-up batches."""
    store = open_frames(root)
    ids = store.ids()
    # enough items for warm-up and timing, cycling over the videos with distinct random draws
    items = [(ids[i % len(ids)], 0) for i in range((batches + 2) * batch_size)]
    loader = make_loader(ClipDataset(root, items, FUSION, seed=1), batch_size, workers, shuffle=False)
    stream = iter(loader)
    for _ in range(2):  # worker start-up and first reads
        next(stream)
    start = time.perf_counter()
    count = sum(next(stream)["label"].numel() for _ in range(batches))
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=2, help="clips to extract (60 frames each)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--batches", type=int, default=24, help="timed batches per format")
    parser.add_argument("--work", type=Path, help="keep the clips and extractions here (reused when rerun)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        outs = extract_both(work, args.videos)
        rates = {fmt: samples_per_second(outs[fmt], args.workers, args.batch_size, args.batches)
                 for fmt in ("hdf5", "jpeg")}
    print(f"fusion samples (T=5, 224x224, RGB + 20-channel flow), {args.workers} workers, "
          f"batch {args.batch_size}, {args.batches} batches")
    print("| format | samples / s | ratio to rawframes |")
    print("|---|---|---|")
    for fmt, name in (("hdf5", "HDF5 shards"), ("jpeg", "rawframe folders")):
        print(f"| {name} | {rates[fmt]:.1f} | {rates[fmt] / rates['jpeg']:.2f} |")


if __name__ == "__main__":
    main()
