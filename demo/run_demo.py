"""``make demo``: the paper's claim on a synthetic "what moves where" set, with the real ``tsf`` commands.

It runs ``tsf synth`` and ``tsf extract-flow``, trains the two streams, then late fusion, conv
fusion at relu5, and T = 5 conv fusion with 2D pooling against 3D conv fusion with 3D pooling,
runs ``tsf evaluate`` on each, and prints the accuracy of each model on each class family of the
test split (``flowkit.SYNTH_CLASSES``), from the ``predictions.jsonl`` files.

Training calls :func:`fusionnet.train` with the :class:`fusionnet.TrainConfig` that ``tsf train``
builds from its options, plus ``drop_rate=(0, 0)``, which ``tsf train`` has no option for: these
small towers start from random weights (there is no ImageNet here), and with the paper's dropout
of 0.85 they barely learn in a few minutes. For the same reason every fusion back-propagates
through the whole network (``full_backprop``), where the paper keeps the pretrained layers below
the fusion fixed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DemoConfig", "Model", "family_accuracy", "format_table", "main", "run_demo"]

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Model:
    """One trained model of the table."""

    name: str  # row label and run folder
    stage: str  # tsf train --stage
    preset: str
    epochs: int
    lr: float
    num_frames: int = 1  # T
    spatial_ckpt: str | None = None  # another row whose best.pt starts the spatial tower
    temporal_ckpt: str | None = None


@dataclass(frozen=True)
class DemoConfig:
    """Data, training and models of a demo run (the reduced test uses fewer videos and epochs)."""

    out: str = "demo-run/what-moves-where"
    videos_per_class: int = 24
    frames: int = 20
    size: int = 64  # square frames of this side, also the network input
    width: float = 0.25  # channel multiplier of the towers
    flow_frames: int = 1  # L: one flow per snippet, so a single snippet never sees the turn of "order"
    stride: str = "3,4"  # T = 5 snippets 3-4 frames apart span the turn of "order"
    bound: float = 4.0  # flow quantisation bound in px: the objects move 0.8-1.6 px per frame
    batch_size: int = 16
    seed: int = 0
    jobs: int = 2
    models: tuple[Model, ...] = (
        Model("spatial", "spatial", "vggm-spatial", 150, 0.02),
        Model("temporal", "temporal", "vggm-temporal", 100, 0.01),
        Model("late", "fusion", "vggm-late", 60, 0.01, spatial_ckpt="spatial", temporal_ckpt="temporal"),
        Model("conv-relu5", "fusion", "vggm-conv-relu5", 60, 0.01, spatial_ckpt="spatial",
              temporal_ckpt="temporal"),
        # the VGG-16 spatial tower of these presets has no stream checkpoint here: it starts at random
        Model("conv-relu5-pool2d", "fusion", "vgg16m-conv-relu5-plus-pool2d", 40, 0.005, num_frames=5,
              temporal_ckpt="temporal"),
        Model("conv3d-relu5-pool3d", "fusion", "vgg16m-conv3d-relu5-plus-pool3d", 40, 0.005, num_frames=5,
              temporal_ckpt="temporal"),
    )


def _tsf(*args: str | os.PathLike) -> float:
    """Run one ``tsf`` command; returns its wall time in seconds.

    Raises:
        subprocess.CalledProcessError: the command failed (its stderr was shown).
    """
    command = [sys.executable, "-m", "cli.main", *map(str, args)]
    print("$ tsf " + " ".join(map(str, args)), file=sys.stderr, flush=True)
    started = time.perf_counter()
    # stdout holds only tsf evaluate's summary, which RUN/eval/<model>/report.json keeps
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def family_accuracy(predictions: str | os.PathLike, families: dict[str, str]) -> dict[str, float]:
    """Accuracy (top-1 over all classes, of the combined prediction) per family of a ``predictions.jsonl``."""
    from fusionnet import read_scores

    classes = list(families)
    hits: dict[str, list[bool]] = {f: [] for f in dict.fromkeys(families.values())}
    scores = read_scores(predictions)
    for label, row in zip(scores.labels.tolist(), scores.scores):
        hits[families[classes[label]]].append(int(row.argmax()) == label)
    return {family: sum(h) / len(h) for family, h in hits.items() if h}


def _train(config: DemoConfig, model: Model, data: Path, frames: Path, runs: Path) -> float:
    """Train one model as ``tsf train`` would, with dropout off; returns the wall time in seconds."""
    from fusionnet import TrainConfig, train

    ckpt = lambda source: None if source is None else str(runs / source / "best.pt")
    low, high = (int(v) for v in config.stride.split(","))
    settings = TrainConfig(
        stage=model.stage, preset=model.preset, data=str(frames), dataset="ucf101", splits_dir=str(data / "splits"),
        out=str(runs / model.name), epochs=model.epochs, batch_size=config.batch_size, lr=model.lr, patience=1000,
        input_size=config.size, width=config.width, num_frames=model.num_frames, flow_frames=config.flow_frames,
        stride=(low, high), drop_rate=(0.0, 0.0), full_backprop=model.stage == "fusion", workers=0,
        seed=config.seed, spatial_ckpt=ckpt(model.spatial_ckpt), temporal_ckpt=ckpt(model.temporal_ckpt))
    print(f"# train {model.name}: {model.preset}, {model.epochs} epochs, lr {model.lr}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    train(settings, progress=False)
    return time.perf_counter() - started


def run_demo(config: DemoConfig) -> dict[str, dict[str, float]]:
    """Generate, extract, train and evaluate; returns ``{model: {family: accuracy}}`` and prints the table."""
    out = Path(config.out).resolve()
    shutil.rmtree(out, ignore_errors=True)  # a fresh start each time: the runs would refuse an old folder
    data, frames, runs, evals = out / "data", out / "frames", out / "runs", out / "eval"
    seconds: dict[str, float] = {}
    seconds["synth"] = _tsf("synth", data, "--videos-per-class", config.videos_per_class, "--size",
                            f"{config.size}x{config.size}", "--frames", config.frames, "--seed", config.seed)
    seconds["extract-flow"] = _tsf("extract-flow", data / "videos", frames, "--short-side", config.size,
                                   "--backend", "opencv", "--bound", config.bound, "--jobs", config.jobs,
                                   "--quiet")
    families: dict[str, str] = json.loads((data / "synth.json").read_text())["classes"]
    table: dict[str, dict[str, float]] = {}
    for model in config.models:
        seconds[model.name] = _train(config, model, data, frames, runs)
        seconds[model.name] += _tsf("evaluate", "--checkpoint", runs / model.name, "--data", frames, "--dataset",
                                    "ucf101", "--splits-dir", data / "splits", "--split", "1", "--out",
                                    evals / model.name, "--positions", "5", "--workers", "0", "--quiet")
        table[model.name] = family_accuracy(evals / model.name / "predictions.jsonl", families)
    (out / "table.json").write_text(json.dumps({"config": dataclasses.asdict(config), "accuracy": table,
                                                "seconds": seconds}, indent=2) + "\n")
    print(format_table(table, seconds))
    return table


def format_table(table: dict[str, dict[str, float]], seconds: dict[str, float]) -> str:
    """The Markdown table: accuracy (%) per model and family, and seconds to train and evaluate."""
    families = list(next(iter(table.values())))
    lines = ["| model | " + " | ".join(families) + " | seconds |", "|---" * (len(families) + 2) + "|"]
    for name, row in table.items():
        lines.append(f"| {name} | " + " | ".join(f"{100 * row[f]:.1f}" for f in families)
                     + f" | {seconds[name]:.0f} |")
    other = ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items() if k not in table)
    return "\n".join(lines) + f"\n\n{other}; total {sum(seconds.values()):.0f} s"


def main(argv: Sequence[str] | None = None) -> None:
    """``python demo/run_demo.py [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DemoConfig.out, help="working folder (default: %(default)s)")
    args = parser.parse_args(argv)
    run_demo(DemoConfig(out=args.out))


if __name__ == "__main__":
    main()
