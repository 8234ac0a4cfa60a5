"""Frame pairs per second that the host side of one GPU extraction worker can feed, against the GPU's rate.

A worker of ``tsf extract-flow --backend cupy`` decodes its videos one after the other
(:class:`flowkit.extract.video.VideoReader`: FFmpeg's own threads, then the conversion to RGB in a
decoding thread) and encodes two JPEGs per flow pair in its writer threads
(:data:`flowkit.extract.pipeline.WRITER_THREADS`), three with ``--rgb``. At R pairs per second the GPU
needs R frames decoded and 2R (or 3R) JPEGs encoded per second, on the same cores. This measures
the host side alone, on real data: the frames of ``demo.mp4`` (340x256) decoded through
``VideoReader``, and the quantised flow of its first pairs encoded at the extraction's default
quality. Each stage is timed alone, then decoding and encoding together as a worker runs them; the
ratio is the rate measured over ``--target`` (1,000 pairs/s by default, the aim for one H100), so
above 1 the host keeps up.

    python benchmarks/host_feed_rate.py [--target 1000] [--passes 4] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from flowkit import ExtractConfig, compute_flow, quantize
from flowkit.extract.pipeline import WRITER_THREADS
from flowkit.extract.video import VideoReader
from flowkit.io.images import encode_image

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def decoded_frames(video: Path, passes: int) -> int:
    """Decode ``video`` ``passes`` times through ``VideoReader``; the number of frames."""
    count = 0
    for _ in range(passes):
        with VideoReader(video) as reader:
            count += sum(1 for _ in reader)
    return count


def flow_images(video: Path, count: int, bound: float) -> list[np.ndarray]:
    """The quantised x and y flow images of the first ``count`` pairs of ``video``."""
    with VideoReader(video) as reader:
        frames = [frame for _, frame in zip(range(count + 1), reader)]
    flows = compute_flow(np.stack(frames[:-1]), np.stack(frames[1:]))
    images = quantize(flows, bound)
    return [np.ascontiguousarray(images[i, ..., c]) for i in range(count) for c in range(2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=1000.0, help="pairs per second a GPU solves")
    parser.add_argument("--passes", type=int, default=4, help="times the video is decoded")
    parser.add_argument("--data", type=Path, default=DATA, help="folder with videos/demo.mp4")
    args = parser.parse_args()
    video = args.data / "videos" / "demo.mp4"
    config = ExtractConfig()
    images = flow_images(video, 4, config.bound)
    with VideoReader(video) as reader:
        rgb = next(iter(reader))

    decoded_frames(video, 1)  # warm-up: the file in the page cache, FFmpeg's codecs loaded
    start = time.perf_counter()
    frames = decoded_frames(video, args.passes)
    decode = frames / (time.perf_counter() - start)

    def encode(pairs: int, with_rgb: bool) -> float:
        """Seconds to encode the JPEGs of ``pairs`` pairs in the worker's writer threads."""
        jobs = [(images[i % len(images)],) for i in range(2 * pairs)]
        jobs += [(rgb,)] * (pairs if with_rgb else 0)
        start = time.perf_counter()
        with ThreadPoolExecutor(WRITER_THREADS) as pool:
            list(pool.map(lambda job: encode_image(job[0], ".jpg", config.quality), jobs))
        return time.perf_counter() - start

    flow_only = frames / encode(frames, False)
    with_rgb = frames / encode(frames, True)

    # decoding and encoding at once, as a worker runs them: each decoded frame queues its pair's JPEGs
    start = time.perf_counter()
    with ThreadPoolExecutor(WRITER_THREADS) as pool:
        futures = []
        for _ in range(args.passes):
            with VideoReader(video) as reader:
                for k, _frame in enumerate(reader):
                    futures += [pool.submit(encode_image, images[(2 * k + c) % len(images)], ".jpg",
                                            config.quality) for c in range(2)]
        for future in futures:
            future.result()
    together = frames / (time.perf_counter() - start)

    print(f"{video.name}, {frames} frames decoded, {WRITER_THREADS} writer threads, JPEG quality "
          f"{config.quality}, {os.cpu_count()} CPUs; target {args.target:.0f} pairs/s\n")
    print("| host stage | pairs/s it can feed | ratio to the target |\n|---|---:|---:|")
    for label, rate in (("decode (VideoReader)", decode), ("encode the flow's 2 JPEGs", flow_only),
                        ("encode 2 flow JPEGs + the RGB frame (--rgb)", with_rgb),
                        ("decode and encode the flow's JPEGs together", together)):
        print(f"| {label} | {rate:.0f} | {rate / args.target:.2f} |")


if __name__ == "__main__":
    main()
