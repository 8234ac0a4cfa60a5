"""``tsf train``: a spatial or temporal stream, or a fusion network, on flowkit's outputs."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .errors import library_errors

__all__ = ["train"]

_DIR = click.Path(exists=True, file_okay=False, path_type=Path)
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _stride(value: str) -> tuple[int, int]:
    try:
        low, high = (int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not LOW,HIGH, e.g. 1,10", param_hint="--stride") from None
    if not 1 <= low <= high:
        raise click.BadParameter(f"need 1 <= LOW <= HIGH, got {value}", param_hint="--stride")
    return low, high


@click.command("train")
@click.option("--stage", type=click.Choice(["spatial", "temporal", "fusion"]), required=True)
@click.option("--preset", required=True, help="Model preset (tsf describe --list), e.g. vggm-spatial, fusion3d.")
@click.option("--data", type=_DIR, required=True, help="Output folder of tsf extract-flow (JPEG or HDF5).")
@click.option("--dataset", type=click.Choice(["ucf101", "hmdb51", "list"]), required=True)
@click.option("--splits-dir", type=_DIR, required=True, help="Folder of the split files.")
@click.option("--split", type=click.IntRange(1), default=1, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Run folder.")
@click.option("--epochs", type=click.IntRange(1), default=1, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=96, show_default=True,
              help="Clips per optimiser step per accumulation round, over all processes.")
@click.option("--accumulate", type=click.IntRange(1), default=1, show_default=True,
              help="Gradient accumulation: the effective batch is BATCH_SIZE x ACCUMULATE.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True),
              help="Learning rate [default: 1e-3 for fusion, 1e-2 for streams].")
@click.option("--patience", type=click.IntRange(1), default=2, show_default=True,
              help="Divide the rate by 10 after this many epochs without a better validation accuracy.")
@click.option("--input-size", type=click.IntRange(1), default=224, show_default=True)
@click.option("--width", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Channel multiplier (not the paper's; for CPU runs and demos).")
@click.option("--num-frames", type=click.IntRange(1), help="T, snippets per clip [default: the preset's].")
@click.option("--flow-frames", type=click.IntRange(1), default=10, show_default=True, help="L, flows per snippet.")
@click.option("--stride", default="1,10", show_default=True, help="Random temporal stride range LOW,HIGH.")
@click.option("--crop", type=click.Choice(["jitter", "corners"]),
              help="Crop placement [default: corners for streams, jitter for fusion].")
@click.option("--full-backprop", is_flag=True, help="Also train the tower layers below the fusion.")
@click.option("--amp", type=click.Choice(["auto", "off", "bf16", "fp16"]), default="auto", show_default=True,
              help="Mixed precision on CUDA (auto: bf16 on CUDA, off on the CPU).")
@click.option("--spatial-ckpt", type=_FILE, help="Spatial stream run's last.pt or best.pt (fusion stage).")
@click.option("--temporal-ckpt", type=_FILE, help="Temporal stream run's last.pt or best.pt (fusion stage).")
@click.option("--imagenet", type=_FILE, help="ImageNet weights for the towers (.mat or torchvision VGG-16).")
@click.option("--imagenet-temporal", type=_FILE, help="Other ImageNet weights for the temporal tower.")
@click.option("--allow-missing", is_flag=True, help="Drop split videos absent from the data instead of failing.")
@click.option("--val-limit", type=click.IntRange(1), help="Validate on the first N test videos only.")
@click.option("--workers", type=click.IntRange(0), default=4, show_default=True, help="DataLoader processes.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--tensorboard", is_flag=True, help="Also write TensorBoard events (needs tensorboard).")
@click.option("--nan-policy", type=click.Choice(["stop", "skip"]), default="stop", show_default=True,
              help="On a non-finite loss or gradient: stop the run (the checkpoints keep the last good "
                   "epoch), or skip that batch's optimiser step.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--quiet", is_flag=True, help="No progress bar and no per-epoch lines.")
def train(stage: str, preset: str, data: Path, dataset: str, splits_dir: Path, split: int, out: Path,
          epochs: int, batch_size: int, accumulate: int, lr: float | None, patience: int, input_size: int,
          width: float, num_frames: int | None, flow_frames: int, stride: str, crop: str | None,
          full_backprop: bool, amp: str, spatial_ckpt: Path | None, temporal_ckpt: Path | None,
          imagenet: Path | None, imagenet_temporal: Path | None, allow_missing: bool, val_limit: int | None,
          workers: int, seed: int, device: str, tensorboard: bool, nan_policy: str, resume: bool,
          quiet: bool) -> None:
    """Train a stream or a fusion network (sec. 3.5 of the paper) and write RUN/metrics.jsonl and checkpoints.

    Under torchrun (torchrun --nproc-per-node N -m cli.main train ...) the batch is split over
    the processes (DDP); only rank 0 writes.
    """
    # imported here: torch takes over a second to import, which other commands need not pay
    from fusionnet import ConfigError, TrainConfig
    from fusionnet import train as run_training
    from fusionnet.engine import EpochMetrics

    option = {k: str(v) if isinstance(v, Path) else v for k, v in dict(
        spatial_ckpt=spatial_ckpt, temporal_ckpt=temporal_ckpt, imagenet=imagenet,
        imagenet_temporal=imagenet_temporal).items()}
    try:
        config = TrainConfig(
            stage=stage, preset=preset, data=str(data), dataset=dataset, splits_dir=str(splits_dir),
            out=str(out), split=split, epochs=epochs, batch_size=batch_size, accumulate=accumulate, lr=lr,
            patience=patience, input_size=input_size, width=width, num_frames=num_frames,
            flow_frames=flow_frames, stride=_stride(stride), crop=crop, full_backprop=full_backprop, amp=amp,
            workers=workers, seed=seed, allow_missing=allow_missing, val_limit=val_limit, device=device,
            tensorboard=tensorboard, nan_policy=nan_policy, **option)
    except ConfigError as e:
        raise click.UsageError(str(e)) from e
    rank0 = os.environ.get("RANK", "0") == "0"

    def report(m: EpochMetrics) -> None:
        if not quiet:
            click.echo(f"epoch {m.epoch}/{epochs}: loss {m.loss:.4f}, train {100 * m.train_accuracy:.1f}%, "
                       f"val {100 * m.val_accuracy:.1f}%, lr {m.lr:g}, {m.clips_per_second:.1f} clips/s"
                       + _skipped(m.skipped_batches), err=True)

    with library_errors(usage=(ConfigError,)):
        history = run_training(config, resume=resume, progress=not quiet, on_epoch=report)
    if rank0 and not quiet and history:
        best = max(m.val_accuracy for m in history)
        last = history[-1]
        click.echo(f"train: {stage} {preset}, {last.epoch} epochs, loss {last.loss:.4f}, "
                   f"val {100 * last.val_accuracy:.1f}% (best this run {100 * best:.1f}%)"
                   f"{_skipped(sum(m.skipped_batches for m in history))} -> {out}", err=True)


def _skipped(count: int) -> str:
    return f", {count} batches skipped (non-finite loss or gradient)" if count else ""
