"""``tsf train`` on videos the tests make and extract with ``tsf extract-flow``: real data, small models."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from helpers.cli import ROOT, tsf
from helpers.training import CLASSES, train_config

from cli.main import tsf as tsf_group
from fusionnet import build_model, load_checkpoint, train
from fusionnet.engine import frozen_layers

SMALL = ["--input-size", "64", "--width", "0.125", "--workers", "0", "--quiet"]


def _losses(run: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_training_lowers_the_loss(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    config = train_config(dataset, tmp_path / "run", epochs=6, lr=0.05, drop_rate=(0.0, 0.0))
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
    whole = train(train_config(dataset, tmp_path / "whole", epochs=3, workers=workers), progress=False)
    train(train_config(dataset, tmp_path / "split", epochs=1, workers=workers), progress=False)
    resumed = train(train_config(dataset, tmp_path / "split", epochs=3, workers=workers), resume=True, progress=False)
    assert [m.epoch for m in resumed] == [2, 3]
    assert _losses(tmp_path / "split") == pytest.approx(_losses(tmp_path / "whole"), abs=1e-6)
    assert resumed[-1].val_accuracy == whole[-1].val_accuracy
    last = load_checkpoint(tmp_path / "split/last.pt")
    for key, value in load_checkpoint(tmp_path / "whole/last.pt")["model"].items():
        torch.testing.assert_close(last["model"][key], value, rtol=0, atol=1e-6)


def _stream(dataset: tuple[Path, Path], root: Path, stage: str) -> Path:
    out = root / stage
    train(train_config(dataset, out, stage=stage, preset=f"vggm-{stage}", epochs=1), progress=False)
    return out / "last.pt"


@pytest.mark.parametrize("full", [False, True])
def test_fusion_trains_only_above_the_fusion_layer(dataset: tuple[Path, Path], tmp_path: Path, full: bool) -> None:
    spatial, temporal = _stream(dataset, tmp_path, "spatial"), _stream(dataset, tmp_path, "temporal")
    out = tmp_path / "fusion"
    train(train_config(dataset, out, stage="fusion", preset="vggm-conv-relu5", epochs=1, spatial_ckpt=str(spatial),
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
    config = train_config(dataset, tmp_path / "run", stage="fusion", preset="vgg16m-conv3d-relu5-plus-pool3d",
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


def _torchrun(dataset: tuple[Path, Path], out: Path, port: int, *extra: str) -> list[str]:
    """``tsf train`` of a small temporal stream in 2 CPU processes under torchrun, with ``extra`` options."""
    data, splits = dataset
    torchrun = Path(sys.executable).with_name("torchrun")
    return [str(torchrun), "--nproc-per-node", "2", "--master-port", str(port), "-m", "cli.main", "train",
            "--stage", "temporal", "--preset", "vggm-temporal", "--data", str(data), "--dataset", "list",
            "--splits-dir", str(splits), "--out", str(out), "--epochs", "2", "--batch-size", "4",
            "--flow-frames", "4", *extra, *SMALL]


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    command = _torchrun(dataset, out, 29517, "--val-limit", "1")  # rank 1 has no validation video
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines] == [1, 2]
    assert json.loads((out / "config.json").read_text())["world_size"] == 2
    state = load_checkpoint(out / "last.pt")
    # 9 clips padded to 10 by the sampler: 5 per process, 2 per process per step, 3 steps an epoch
    assert state["epoch"] == 2 and state["step"] == 6


# --- runs that go wrong ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stream_run(dataset: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporal stream trained one epoch by a real `tsf train` process under umask 022."""
    data, splits = dataset
    out = tmp_path_factory.mktemp("stream") / "run"
    done = tsf("train", "--stage", "temporal", "--preset", "vggm-temporal", "--data", data, "--dataset",
               "list", "--splits-dir", splits, "--out", out, "--batch-size", "3", "--flow-frames", "4",
               "--stride", "1,3", *SMALL, umask=0o022)
    assert done.returncode == 0, done.stderr
    return out


def _invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(tsf_group, [str(a) for a in args])


def _train_args(dataset: tuple[Path, Path], out: Path, *extra: str | Path) -> list[str | Path]:
    data, splits = dataset
    return ["train", "--stage", "temporal", "--preset", "vggm-temporal", "--data", data, "--dataset", "list",
            "--splits-dir", splits, "--out", out, "--flow-frames", "4", "--stride", "1,3", *SMALL, *extra]


def _last_line(result: Any) -> str:
    """The one error line a failed command prints (log warnings may come before it), never a traceback."""
    assert "Traceback" not in result.output, result.output
    return result.output.strip().splitlines()[-1]


def _strict_json_lines(path: Path) -> list[dict]:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{path} holds a bare {constant}")

    return [json.loads(line, parse_constant=refuse) for line in path.read_text().splitlines()]


def test_outputs_follow_the_umask(stream_run: Path) -> None:
    for name in ("last.pt", "best.pt", "config.json", "metrics.jsonl"):
        assert stat.S_IMODE((stream_run / name).stat().st_mode) == 0o644, name


def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_good_epoch(dataset: tuple[Path, Path],
                                                                         tmp_path: Path) -> None:
    out = tmp_path / "run"
    # one batch an epoch: epoch 1's only step is taken on a finite loss, after which the weights are huge
    done = _invoke(*_train_args(dataset, out, "--batch-size", "9", "--epochs", "2", "--lr", "1e30"))
    assert done.exit_code == 1
    assert _last_line(done) == (f"Error: non-finite loss (nan) in epoch 2, step 2 (batch 1 of 1); stopped, "
                                f"{out / 'last.pt'} keeps epoch 1; lower --lr, or pass --nan-policy skip to "
                                "skip such batches")
    assert [m["epoch"] for m in _strict_json_lines(out / "metrics.jsonl")] == [1]
    assert load_checkpoint(out / "last.pt")["epoch"] == 1  # it refuses non-finite weights
    assert load_checkpoint(out / "best.pt")["epoch"] == 1
    inf = _invoke(*_train_args(dataset, tmp_path / "inf", "--lr", "inf"))
    assert inf.exit_code == 2 and "lr must be a finite number above 0, got inf" in inf.output


def test_nan_policy_skip_counts_the_skipped_batches(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["--batch-size", "3", "--lr", "1e30", "--nan-policy", "skip"]
    # epoch 1 steps once on its first batch; the next two have a NaN loss; so do all three of epoch 2
    done = _invoke(*[a for a in _train_args(dataset, out, *args, "--epochs", "2") if a != "--quiet"])
    assert done.exit_code == 1
    assert "epoch 1/2: loss" in done.output
    assert "2 batches skipped (non-finite loss or gradient)" in done.output
    assert _last_line(done) == (f"Error: epoch 2: every batch (3) had a non-finite loss or gradient and was "
                                f"skipped; stopped, {out / 'last.pt'} keeps epoch 1; lower --lr")
    (line,) = _strict_json_lines(out / "metrics.jsonl")
    assert line["skipped_batches"] == 2 and line["step"] == 1 and math.isfinite(line["loss"])
    assert load_checkpoint(out / "last.pt", resume=True)["epoch"] == 1
    one = _invoke(*[a for a in _train_args(dataset, tmp_path / "one", *args) if a != "--quiet"])
    assert one.exit_code == 0, one.output
    assert one.output.strip().splitlines()[-1].endswith(
        "2 batches skipped (non-finite loss or gradient) -> " + str(tmp_path / "one"))


@pytest.mark.parametrize(("case", "message"), [
    ("empty", "not a tsf checkpoint (missing 'config')"),
    ("list", "not a tsf checkpoint (a list, not the dict tsf train writes)"),
    ("no-optimiser", "holds no training state to resume from (missing 'optimizer'); --resume continues from "
                     "the last.pt of a tsf train run"),
    ("bad-optimiser", "cannot restore the training state from it (KeyError: 'param_groups')"),
])
def test_resume_refuses_a_last_pt_of_another_structure(dataset: tuple[Path, Path], stream_run: Path,
                                                        tmp_path: Path, case: str, message: str) -> None:
    state = torch.load(stream_run / "last.pt", weights_only=True)
    out = tmp_path / "run"
    out.mkdir()
    content = {"empty": {}, "list": [1, 2, 3],
               "no-optimiser": {k: v for k, v in state.items() if k != "optimizer"},
               # this run's settings, so that resuming gets as far as the optimiser
               "bad-optimiser": {**state, "optimizer": {},
                                 "config": {**state["config"], "out": str(out)}}}[case]
    torch.save(content, out / "last.pt")
    done = _invoke(*_train_args(dataset, out, "--batch-size", "3", "--resume"))
    assert done.exit_code == 1
    assert _last_line(done).startswith(f"Error: {out / 'last.pt'}: {message}")


def test_fusion_refuses_stream_checkpoints_not_ours_or_diverged(dataset: tuple[Path, Path], stream_run: Path,
                                                                 tmp_path: Path) -> None:
    data, splits = dataset
    fusion = ["train", "--stage", "fusion", "--preset", "vggm-conv-relu5", "--data", data, "--dataset",
              "list", "--splits-dir", splits, "--out", tmp_path / "fusion", "--flow-frames", "4", *SMALL]
    listed = tmp_path / "list.pt"
    torch.save([1, 2, 3], listed)
    for option in ("--spatial-ckpt", "--temporal-ckpt"):
        done = _invoke(*fusion, option, listed)
        assert done.exit_code == 1, option
        assert _last_line(done) == f"Error: {listed}: not a tsf checkpoint (a list, not the dict tsf train " \
                                   "writes)"
    state = torch.load(stream_run / "last.pt", weights_only=True)
    diverged = tmp_path / "diverged.pt"
    nan = {**state["model"], "temporal.fc8.bias": torch.full((3,), math.nan)}
    torch.save({**state, "model": nan}, diverged)
    done = _invoke(*fusion, "--temporal-ckpt", diverged)
    assert done.exit_code == 1 and _last_line(done) == (
        f"Error: {diverged}: tensor 'temporal.fc8.bias' holds NaN or infinite values (the run diverged); "
        "use an earlier checkpoint, or train again with a lower --lr")


def test_a_damaged_frame_read_in_a_worker_stops_training_in_one_line(dataset: tuple[Path, Path],
                                                                      tmp_path: Path) -> None:
    data = shutil.copytree(dataset[0], tmp_path / "frames")
    for frame in (data / "still/v_still_0").glob("flow_x_*.jpg"):  # whichever the clip reads
        frame.write_bytes(b"garbage")
    done = _invoke(*_train_args((data, dataset[1]), tmp_path / "run", "--batch-size", "3", "--workers", "2"))
    assert done.exit_code == 1
    assert re.fullmatch(rf"Error: {data}/still/v_still_0/flow_x_\d{{5}}\.jpg: not a readable JPEG \(empty, "
                        r"truncated or damaged\); extract this video again", _last_line(done)), done.output


@pytest.mark.slow
def test_ddp_processes_agree_on_skipping_and_stopping(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    command = _torchrun(dataset, out, 29518, "--lr", "1e30", "--nan-policy", "skip")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # a process that skipped a backward its peer ran would hang in DDP's all-reduce
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert result.stderr.count("Error: epoch 2: every batch (3) had a non-finite loss or gradient") == 2, \
        result.stderr[-3000:]
    (line,) = _strict_json_lines(out / "metrics.jsonl")
    assert line["skipped_batches"] == 2 and load_checkpoint(out / "last.pt")["step"] == 1


def test_resume_finds_the_run_by_its_folder_not_its_path_string(dataset: tuple[Path, Path], stream_run: Path,
                                                                 tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(stream_run, moved)
    data, splits = dataset
    relative_data = os.path.relpath(data)  # the same data, spelled another way than at the start
    args = _train_args((Path(relative_data), splits), moved.resolve(), "--batch-size", "3", "--resume",
                       "--epochs", "2")
    done = _invoke(*args)
    assert done.exit_code == 0, done.output
    assert [m["epoch"] for m in _strict_json_lines(moved / "metrics.jsonl")] == [1, 2]
    other = _invoke(*_train_args(dataset, moved, "--batch-size", "2", "--resume", "--epochs", "3"))
    assert other.exit_code == 1 and "batch_size differ" in other.output
