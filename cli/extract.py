"""``tsf extract-flow``: video folders to RGB and flow JPEGs (rawframe folders or HDF5 shards)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
from pathlib import Path

import click
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from flowkit import (
    BACKENDS,
    METHODS,
    ExtractConfig,
    ExtractionError,
    FlowError,
    Resize,
    RunOptions,
    VideoListError,
    VideoResult,
    extract,
    find_videos,
    flow_backend,
    read_video_list,
)

from .errors import library_errors
from .options import parse_size

_SRC = click.Path(exists=True, file_okay=False, path_type=Path)
_OUT = click.Path(file_okay=False, path_type=Path)


def _devices(value: str | None) -> tuple[int, ...]:
    if not value:
        return ()
    try:
        return tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of device ids, e.g. 0,1",
                                 param_hint="--devices") from None


def _cluster_shard(num_shards: int | None, shard_index: int | None) -> tuple[int, int]:
    """``(num_shards, shard_index)`` from the options, else from a SLURM array job, else (1, 0)."""
    if num_shards is not None or shard_index is not None:
        if num_shards is None or shard_index is None:
            raise click.UsageError("give --num-shards and --shard-index together")
        return num_shards, shard_index
    task = os.environ.get("SLURM_ARRAY_TASK_ID")
    if task is None:
        return 1, 0
    try:
        first = int(os.environ.get("SLURM_ARRAY_TASK_MIN", "0"))
        stride = int(os.environ.get("SLURM_ARRAY_TASK_STEP", "1"))
        count = int(os.environ["SLURM_ARRAY_TASK_COUNT"])
        return count, (int(task) - first) // stride
    except (KeyError, ValueError) as e:
        raise click.UsageError(f"SLURM_ARRAY_TASK_ID is set but the array variables are incomplete: {e}") from e


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise click.BadParameter(f"{out}: not writable ({e.strerror or e})", param_hint="OUT") from e


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


class _Warnings(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _warnings() -> logging_redirect_tqdm:
    """flowkit's warnings (skipped link loops, repaired bookkeeping lines) as lines on stderr."""
    logger = logging.getLogger("flowkit")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_Warnings())
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
    return logging_redirect_tqdm([logger])


@click.command("extract-flow")
@click.argument("src", type=_SRC)
@click.argument("out", type=_OUT)
@click.option("--list", "list_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Process the videos listed in FILE (one path per line, relative to SRC).")
@click.option("--short-side", type=click.IntRange(min=2), default=256, show_default=True,
              help="Resize so that the smaller side is this long (the other rounded down to even).")
@click.option("--size", help="Resize to exactly WIDTHxHEIGHT instead.")
@click.option("--no-resize", is_flag=True, help="Keep the videos' own size.")
@click.option("--method", type=click.Choice(METHODS), default="tvl1", show_default=True)
@click.option("--backend", type=click.Choice(BACKENDS), default="auto", show_default=True,
              help="auto: cupy when a CUDA device is usable, else the CPU.")
@click.option("--preset", help="Parameter preset of the method (default: the method's defaults).")
@click.option("--step", type=click.IntRange(min=1), default=1, show_default=True,
              help="Flow from frame t to frame t + STEP.")
@click.option("--bound", type=click.FloatRange(min=0, min_open=True), default=20.0, show_default=True,
              help="Clip displacements at +-BOUND px before quantising.")
@click.option("--format", "fmt", type=click.Choice(["jpeg", "hdf5"]), default="jpeg", show_default=True,
              help="jpeg: MMAction2 rawframe folders; hdf5: a few large shards.")
@click.option("--no-rgb", is_flag=True, help="Do not write the RGB frames.")
@click.option("--quality", type=click.IntRange(0, 100), default=95, show_default=True, help="JPEG quality.")
@click.option("--shard-videos", type=click.IntRange(min=1), default=64, show_default=True,
              help="Videos per HDF5 shard.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes for CPU backends.")
@click.option("--devices", help="CUDA device ids for the cupy backend, one worker each, e.g. 0,1.")
@click.option("--batch-pairs", type=click.IntRange(min=1),
              help="Frame pairs per flow call, across videos when they are short "
                   "[default: 1 on CPU; on GPU 128 at 340x256, fewer for larger frames].")
@click.option("--num-shards", type=click.IntRange(min=1),
              help="Split the sorted video list over this many jobs [default: SLURM array, else 1].")
@click.option("--shard-index", type=click.IntRange(min=0), help="This job's index, 0-based.")
@click.option("--overwrite", is_flag=True, help="Redo videos that are already finished.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first video that fails.")
@click.option("--strict", is_flag=True,
              help="Fail videos whose decoder reported errors (truncated or damaged files that decode "
                   "in part); without it they are done, with a warning and the errors in meta.json.")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary (failures are still reported).")
def extract_flow(src: Path, out: Path, list_file: Path | None, short_side: int, size: str | None,
                 no_resize: bool, method: str, backend: str, preset: str | None, step: int, bound: float,
                 fmt: str, no_rgb: bool, quality: int, shard_videos: int, jobs: int, devices: str | None,
                 batch_pairs: int | None, num_shards: int | None, shard_index: int | None,
                 overwrite: bool, fail_fast: bool, strict: bool, quiet: bool) -> None:
    """Extract RGB frames and TV-L1 (or Brox) flow from every video under SRC into OUT.

    Finished videos are skipped when the command is run again; failed ones are listed in
    OUT/failures.jsonl. Nothing tsf did not make as a video's output in OUT is replaced or
    deleted: a video whose output would land on a source path, on another video's output or on
    a bookkeeping file stops the run before any work. Exit status: 0 all finished, 1 some
    failed, 2 usage error (or such a conflict, or another run busy with the same job in OUT).
    """
    if size is not None and no_resize:
        raise click.UsageError("give --size or --no-resize, not both")
    exact = parse_size(size) if size is not None else None
    shards, index = _cluster_shard(num_shards, shard_index)
    try:
        resize = Resize(short_side=None if (exact or no_resize) else short_side, size=exact)
        config = ExtractConfig(method=method, backend=backend, preset=preset, step=step, bound=bound,
                               resize=resize, format=fmt, quality=quality, rgb=not no_rgb,
                               batch_pairs=batch_pairs, shard_videos=shard_videos)
        run = RunOptions(jobs=jobs, devices=_devices(devices), num_shards=shards, shard_index=index,
                         overwrite=overwrite, fail_fast=fail_fast, strict=strict)
        flow_backend(method, backend)
        with _warnings():
            entries = read_video_list(src, list_file) if list_file else find_videos(src)
    except (ExtractionError, FlowError, VideoListError) as e:
        raise click.UsageError(str(e)) from e
    _check_writable(out)
    # SLURM and kill send SIGTERM: end as on Ctrl-C, so workers stop and this job's temporary files go
    signal.signal(signal.SIGTERM, _terminate)
    bar = tqdm(unit="frame", disable=quiet, file=sys.stderr, dynamic_ncols=True, desc="extract-flow")
    counts = {"done": 0, "skipped": 0, "failed": 0}

    def report(result: VideoResult) -> None:
        counts[result.status] += 1
        if result.status == "failed":
            tqdm.write(f"failed: {result.path}: {result.reason}", file=sys.stderr)
        for warning in result.warnings:
            tqdm.write(f"warning: {result.path}: {warning}", file=sys.stderr)
        if result.status == "done":
            bar.update(result.num_frames)
        bar.set_postfix(counts, refresh=False)

    try:
        with library_errors(usage=(ExtractionError,)), _warnings():
            summary = extract(entries, out, config, run, on_result=report)
    finally:
        bar.close()
    if not quiet:
        click.echo(
            f"extract-flow: {summary.done} done, {summary.skipped} skipped, {summary.failed} failed "
            f"of {summary.done + summary.skipped + summary.failed} videos; {summary.frames} frames in "
            f"{summary.seconds:.1f} s ({summary.frames_per_second:.1f} frames/s) -> {out}",
            err=True,
        )
    if summary.failed:
        sys.exit(1)
