"""``tsf train`` on videos the tests make and extract with ``tsf extract-flow``: real data, small models."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_extract import ROOT, tsf

from fusionnet import TrainConfig, build_model, frozen_layers, load_checkpoint, train

# vertical motions: a horizontal flip (augmentation) keeps every class what it is
CLASSES = ("still", "drift_down", "drift_up")
VELOCITY = {"still": (0.0, 0.0), "drift_down": (0.0, 2.0), "drift_up": (0.0, -2.0)}
SMALL = ["--input-size", "64", "--width", "0.125", "--workers", "0", "--quiet"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Three classes of drifting textures, 4 videos each, extracted at 84x64; a generic split list."""
    from flowkit.synthetic import moving_frames, write_video

    root = tmp_path_factory.mktemp("train")
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


def _config(dataset: tuple[Path, Path], out: Path, **changes: object) -> TrainConfig:
    data, splits = dataset
    base = dict(stage="temporal", preset="vggm-temporal", data=str(data), dataset="list", splits_dir=str(splits),
                out=str(out), epochs=2, batch_size=3, input_size=64, width=0.125, workers=0, seed=3,
                flow_frames=4, stride=(1, 3))
    return TrainConfig(**{**base, **changes})


def _losses(run: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_training_lowers_the_loss(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    config = _config(dataset, tmp_path / "run", epochs=6, lr=0.05, drop_rate=(0.0, 0.0))
    history = train(config, progress=False)
    assert [m.epoch for m in history] == [1, 2, 3, 4, 5, 6]
    assert history[-1].loss < 0.8 * history[0].loss, [m.loss for m in history]
    assert _losses(tmp_path / "run") == [m.loss for m in history]
    record = json.loads((tmp_path / "run/config.json").read_text())
    assert record["classes"] == list(CLASSES) and record["train"]["lr"] == 0.05
    assert record["model"]["temporal"] == "vggm" and record["sampling"]["crop"] == "corners"
    assert (tmp_path / "run/best.pt").exists()


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_gives_the_losses_of_an_uninterrupted_run(dataset: tuple[Path, Path], tmp_path: Path,
                                                         workers: int) -> None:
    whole = train(_config(dataset, tmp_path / "whole", epochs=3, workers=workers), progress=False)
    train(_config(dataset, tmp_path / "split", epochs=1, workers=workers), progress=False)
    resumed = train(_config(dataset, tmp_path / "split", epochs=3, workers=workers), resume=True, progress=False)
    assert [m.epoch for m in resumed] == [2, 3]
    assert _losses(tmp_path / "split") == pytest.approx(_losses(tmp_path / "whole"), abs=1e-6)
    assert resumed[-1].val_accuracy == whole[-1].val_accuracy
    last = load_checkpoint(tmp_path / "split/last.pt")
    for key, value in load_checkpoint(tmp_path / "whole/last.pt")["model"].items():
        torch.testing.assert_close(last["model"][key], value, rtol=0, atol=1e-6)


def _stream(dataset: tuple[Path, Path], root: Path, stage: str) -> Path:
    out = root / stage
    train(_config(dataset, out, stage=stage, preset=f"vggm-{stage}", epochs=1), progress=False)
    return out / "last.pt"


@pytest.mark.parametrize("full", [False, True])
def test_fusion_trains_only_above_the_fusion_layer(dataset: tuple[Path, Path], tmp_path: Path, full: bool) -> None:
    spatial, temporal = _stream(dataset, tmp_path, "spatial"), _stream(dataset, tmp_path, "temporal")
    out = tmp_path / "fusion"
    train(_config(dataset, out, stage="fusion", preset="vggm-conv-relu5", epochs=1, spatial_ckpt=str(spatial),
                  temporal_ckpt=str(temporal), full_backprop=full, lr=0.01), progress=False)
    fused = load_checkpoint(out / "last.pt")["model"]
    streams = {"spatial": load_checkpoint(spatial)["model"], "temporal": load_checkpoint(temporal)["model"]}
    model = build_model("vggm-conv-relu5", num_classes=3, input_size=64, width=0.125, flow_frames=4)
    frozen = frozen_layers(model)
    convs = ("conv1", "conv2", "conv3", "conv4", "conv5")
    assert frozen == [f"{role}.{name}" for role in ("spatial", "temporal") for name in convs]
    for layer in frozen:
        key = layer + ".weight"
        unchanged = torch.equal(fused[key], streams[layer.split(".")[0]][key])
        assert unchanged != full, key
    # above the fusion: fc6 trained on from the spatial stream's, the fusion from its identity start
    assert not torch.equal(fused["spatial.fc6.weight"], streams["spatial"]["spatial.fc6.weight"])
    assert not torch.equal(fused["fusions.relu5.conv.weight"], model.state_dict()["fusions.relu5.conv.weight"])


def test_3d_fusion_plus_form_trains_both_heads(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    config = _config(dataset, tmp_path / "run", stage="fusion", preset="vgg16m-conv3d-relu5-plus-pool3d",
                     num_frames=2, epochs=1, imagenet=None)
    history = train(config, progress=False)
    assert set(history[0].heads) == {"fused", "temporal"}
    assert json.loads((tmp_path / "run/config.json").read_text())["sampling"]["num_frames"] == 2


def test_cli_train_and_errors(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    data, splits = dataset
    args = ["train", "--data", data, "--dataset", "list", "--splits-dir", splits, "--flow-frames", "4", *SMALL]
    out = tmp_path / "run"
    done = tsf(*args, "--stage", "spatial", "--preset", "vggm-spatial", "--out", out, "--batch-size", "3")
    assert done.returncode == 0, done.stderr
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1
    again = tsf(*args, "--stage", "spatial", "--preset", "vggm-spatial", "--out", out, "--batch-size", "3")
    assert again.returncode == 1 and "pass --resume" in again.stderr
    changed = tsf(*args, "--stage", "spatial", "--preset", "vggm-spatial", "--out", out, "--batch-size", "3",
                  "--seed", "9", "--resume", "--epochs", "2")
    assert changed.returncode == 1 and "seed differ" in changed.stderr
    wrong = tsf(*args, "--stage", "spatial", "--preset", "vggm-conv-relu5", "--out", tmp_path / "x")
    assert wrong.returncode == 2 and "does not fit the spatial stage" in wrong.stderr
    nothing = tsf(*args, "--stage", "temporal", "--preset", "vggm-temporal", "--out", tmp_path / "y", "--resume")
    assert nothing.returncode == 1 and "no checkpoint to resume from" in nothing.stderr


def test_tensorboard_events_or_a_clear_error(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    data, splits = dataset
    out = tmp_path / "run"
    result = tsf("train", "--stage", "temporal", "--preset", "vggm-temporal", "--data", data, "--dataset", "list",
                 "--splits-dir", splits, "--out", out, "--batch-size", "3", "--flow-frames", "4", "--tensorboard",
                 *SMALL)
    if importlib.util.find_spec("tensorboard") is None:
        assert result.returncode == 2 and "--tensorboard needs the tensorboard package" in result.stderr
        assert not out.exists()
    else:
        assert result.returncode == 0, result.stderr
        assert list((out / "tensorboard").glob("events.out.tfevents.*"))


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    data, splits = dataset
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [str(torchrun), "--nproc-per-node", "2", "--master-port", "29517", "-m", "cli.main", "train",
               "--stage", "temporal", "--preset", "vggm-temporal", "--data", str(data), "--dataset", "list",
               "--splits-dir", str(splits), "--out", str(out), "--epochs", "2", "--batch-size", "4",
               "--flow-frames", "4", "--val-limit", "1", *SMALL]  # rank 1 has no validation video
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines] == [1, 2]
    assert json.loads((out / "config.json").read_text())["world_size"] == 2
    state = load_checkpoint(out / "last.pt")
    # 9 clips padded to 10 by the sampler: 5 per process, 2 per process per step, 3 steps an epoch
    assert state["epoch"] == 2 and state["step"] == 6
