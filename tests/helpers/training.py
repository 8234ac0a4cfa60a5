"""A small real training set: three classes of drifting textures, extracted with tsf extract-flow."""

from __future__ import annotations

from pathlib import Path

from helpers.cli import tsf

from flowkit.datasets.known_flow import moving_frames, write_video
from fusionnet import TrainConfig

__all__ = ["CLASSES", "VELOCITY", "make_training_set", "train_config"]

# vertical motions: a horizontal flip (augmentation) keeps every class what it is
CLASSES = ("still", "drift_down", "drift_up")
VELOCITY = {"still": (0.0, 0.0), "drift_down": (0.0, 2.0), "drift_up": (0.0, -2.0)}


def make_training_set(root: Path) -> tuple[Path, Path]:
    """Three classes of drifting textures, 4 videos each, extracted at 84x64 under ``root``; a
    generic split list. Returns ``(data, splits_dir)``."""
    src = root / "videos"
    for label, name in enumerate(CLASSES):
        for i in range(4):
            frames = moving_frames(14, 48, 64, seed=10 * label + i, velocity=VELOCITY[name])
            write_video(src / name / f"v_{name}_{i}.avi", frames)
    result = tsf("extract-flow", src, root / "frames", "--short-side", "64", "--backend", "opencv",
                 "--preset", "opencv-cuda", "--jobs", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    splits = root / "splits"
    splits.mkdir()
    (splits / "classes.txt").write_text("".join(c + "\n" for c in CLASSES))
    train_lines = [f"{c}/v_{c}_{i} {label}\n" for label, c in enumerate(CLASSES) for i in range(3)]
    test_lines = [f"{c}/v_{c}_3 {label}\n" for label, c in enumerate(CLASSES)]
    (splits / "trainlist01.txt").write_text("".join(train_lines))
    (splits / "testlist01.txt").write_text("".join(test_lines))
    return root / "frames", splits


def train_config(dataset: tuple[Path, Path], out: Path, **changes: object) -> TrainConfig:
    """A temporal stream run on ``dataset``, small and quick, with ``changes``."""
    data, splits = dataset
    base = dict(stage="temporal", preset="vggm-temporal", data=str(data), dataset="list", splits_dir=str(splits),
                out=str(out), epochs=2, batch_size=3, input_size=64, width=0.125, workers=0, seed=3,
                flow_frames=4, stride=(1, 3))
    return TrainConfig(**{**base, **changes})
