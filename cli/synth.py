"""``tsf synth``: the synthetic "what moves where" dataset, as real videos in UCF101's layout."""

from __future__ import annotations

from pathlib import Path

import click

from flowkit import SynthConfig, SynthError, write_synth_dataset

from .errors import library_errors
from .options import parse_size

__all__ = ["synth"]


@click.command("synth")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--videos-per-class", type=click.IntRange(1), default=24, show_default=True,
              help="Clips per class, train and test together (groups of 4; about 30% of groups test).")
@click.option("--size", default="64x64", show_default=True, help="Frame size WxH (even).")
@click.option("--frames", type=click.IntRange(1), default=20, show_default=True, help="Frames per video.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", is_flag=True, help="No summary line.")
def synth(out: Path, videos_per_class: int, size: str, frames: int, seed: int, quiet: bool) -> None:
    """Write OUT/videos/<Class>/v_<Class>_gGG_cCC.avi, OUT/splits (UCF101's split files) and OUT/synth.json.

    Classes: who moves (a red or a green object of equal gray level moves up or down, the other
    stays), order (up then down against down then up), and controls separable by colour alone
    and by motion alone. Train with --dataset ucf101 --splits-dir OUT/splits.
    """
    try:
        config = SynthConfig(videos_per_class=videos_per_class, size=parse_size(size, example="64x64", form="WxH"), frames=frames, seed=seed)
    except SynthError as e:
        raise click.UsageError(str(e)) from e
    with library_errors():
        videos = write_synth_dataset(out, config)
    if not quiet:
        tests = sum(v.test for v in videos)
        click.echo(f"synth: {len(videos)} videos ({len(videos) - tests} train, {tests} test) of "
                   f"{config.size[0]}x{config.size[1]}, {frames} frames -> {out}", err=True)
