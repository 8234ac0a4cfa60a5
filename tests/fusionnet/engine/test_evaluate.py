"""``tsf evaluate`` and ``tsf fuse-scores``: the test protocol, the metrics and the reports, on a small
model trained here on videos the tests generate and extract with ``tsf extract-flow``."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from helpers.cli import tsf
from helpers.training import CLASSES

from cli.main import tsf as tsf_group
from fusionnet import (
    CheckpointError,
    EvalConfig,
    EvalDataset,
    SamplingConfig,
    ScoresError,
    TrainConfig,
    compute_metrics,
    evaluate,
    fuse_scores,
    load_split,
    open_checkpoint,
    open_frames,
    read_scores,
    train,
)
from fusionnet.data import clip_positions
from fusionnet.fusion import combine_heads

FAST = ["--positions", "3", "--workers", "0", "--batch-size", "4", "--quiet"]
OUTPUTS = ("predictions.jsonl", "report.json", "per_class.csv", "confusion.png")


@pytest.fixture(scope="module")
def run(dataset: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A "+" model (3D conv fusion, fused and temporal heads, T = 2) trained for two epochs."""
    data, splits = dataset
    out = tmp_path_factory.mktemp("evaluate") / "run"
    config = TrainConfig(stage="fusion", preset="vgg16m-conv3d-relu5-plus-pool3d", data=str(data),
                         dataset="list", splits_dir=str(splits), out=str(out), epochs=2, batch_size=3,
                         input_size=64, width=0.125, num_frames=2, flow_frames=4, stride=(1, 3), workers=0,
                         seed=1)
    train(config, progress=False)
    return out


def _invoke(*args: str | Path) -> object:
    return CliRunner().invoke(tsf_group, [str(a) for a in args])


def _base(dataset: tuple[Path, Path], splits: Path | None = None) -> list[str | Path]:
    data, default = dataset
    return ["evaluate", "--data", data, "--dataset", "list", "--splits-dir", splits or default]


# --- the protocol -----------------------------------------------------------------------------------


def test_positions_are_spread_evenly() -> None:
    sampling = SamplingConfig(streams=("rgb", "flow"), num_frames=5, flow_frames=10)
    frames, flows = clip_positions(300, 299, sampling, 20, 5)
    assert frames.shape == (20, 5) and flows.shape == (20, 5, 10)
    starts = frames[:, 0]
    # the first clip starts at frame 0, the last ends with the last flow; steps differ by rounding only
    assert starts[0] == 0 and flows[-1, -1, -1] == 298
    assert set(np.diff(starts)) <= {14, 15}  # 269 / 19 = 14.2 and np.all(np.diff(frames, axis=1) == 5)
    assert np.array_equal(flows[:, :, 0], frames) and np.all(np.diff(flows, axis=2) == 1)
    assert clip_positions(300, 299, sampling, 1, 5)[0][0, 0] == (299 - 30) // 2  # one position: centred


@pytest.mark.parametrize(("frames", "stride"), [(12, 5), (4, 5), (1, 3)])
def test_positions_stay_inside_short_videos(frames: int, stride: int) -> None:
    sampling = SamplingConfig(streams=("rgb", "flow"), num_frames=5, flow_frames=10)
    rgb, flow = clip_positions(frames, max(frames - 1, 0), sampling, 20, stride)
    assert rgb.shape == (20, 5) and flow.shape == (20, 5, 10)
    assert rgb.min() >= 0 and rgb.max() <= frames - 1
    assert flow.min() >= 0 and flow.max() <= max(frames - 2, 0)
    assert np.all(np.diff(rgb[:, 0]) >= 0)
    rgb_only = SamplingConfig(streams=("rgb",), num_frames=3)
    assert clip_positions(frames, 0, rgb_only, 20, stride)[0].max() <= frames - 1


def test_flipped_view_is_the_mirror_with_x_flow_negated(dataset: tuple[Path, Path]) -> None:
    data, splits = dataset
    video = load_split("list", splits, 1).test[1]
    sampling = SamplingConfig(streams=("rgb", "flow"), num_frames=2, flow_frames=4, stride=(1, 3))
    item = EvalDataset(data, [video], sampling, EvalConfig(positions=4), input_size=32)[2]
    frames, flows = clip_positions(*_counts(data, video[0]), sampling, 4, 2)
    store = open_frames(data)
    rgb = store.rgb(video[0], frames[2]).astype(np.float32) - np.float32(sampling.rgb_mean)  # (T, H, W, 3)
    assert item["rgb"].shape == (2, 3, 2, 64, 84)  # both views, whole frames (larger than the input)
    assert torch.equal(item["rgb"][0], torch.from_numpy(rgb.transpose(3, 0, 1, 2).copy()))
    assert torch.equal(item["rgb"][1], item["rgb"][0].flip(-1))
    q = store.flow(video[0], flows[2].reshape(-1)).astype(np.float32)  # (T * L, H, W, 2)
    first = q[0, :, ::-1]  # snippet 1, flow 1, mirrored
    assert torch.equal(item["flow"][0, 0, 0], torch.from_numpy(q[0, :, :, 0] - 128))
    assert torch.equal(item["flow"][1, 0, 0], torch.from_numpy((255 - first[:, :, 0]) - 128))  # u: 255 - q
    assert torch.equal(item["flow"][1, 1, 0], torch.from_numpy(first[:, :, 1] - 128))  # v: only mirrored
    # channel 3 is v of a snippet's 2nd flow; q holds T stacks of L = 4 flows: snippet 2's is q[4 + 1]
    assert torch.equal(item["flow"][1, 3, 1], torch.from_numpy(q[5, :, ::-1, 1] - 128))


def _counts(data: Path, vid: str) -> tuple[int, int]:
    store = open_frames(data)
    return store.num_frames(vid), store.num_flows(vid)


def test_small_frames_and_crops_are_scaled_up_to_the_input(dataset: tuple[Path, Path]) -> None:
    data, splits = dataset
    videos = load_split("list", splits, 1).test
    sampling = SamplingConfig(streams=("rgb",), num_frames=1)
    scaled = EvalDataset(data, videos, sampling, EvalConfig(flip=False), 128)[0]["rgb"]
    assert scaled.shape == (1, 3, 1, 128, 168)
    crop = EvalDataset(data, videos, sampling, EvalConfig(crop=48), 64)[0]["rgb"]
    assert crop.shape == (2, 3, 1, 64, 64)


# --- metrics ----------------------------------------------------------------------------------------


def test_metrics_against_hand_made_predictions() -> None:
    labels = [0, 0, 0, 1, 2, 2]
    scores = np.array([
        [0.9, 0.1, 0.0, 0.0, 0.0, 0.0],  # right
        [0.1, 0.9, 0.0, 0.0, 0.0, 0.0],  # 0 -> 1, true class second
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],  # 0 -> 5, true class last of 6: outside the top 5
        [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],  # right
        [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],  # right
        [0.0, 0.2, 0.1, 0.0, 0.0, 0.0],  # 2 -> 1
    ])
    m = compute_metrics(scores, labels)
    assert m.accuracy == m.top1 == pytest.approx(3 / 6)
    assert m.per_class == pytest.approx((1 / 3, 1.0, 0.5, None, None, None))
    assert m.support == (3, 1, 2, 0, 0, 0)
    assert m.mean_class_accuracy == pytest.approx((1 / 3 + 1 + 0.5) / 3)  # classes without videos left out
    assert m.top5 == pytest.approx(5 / 6)
    expected = np.zeros((6, 6), int)
    for true, predicted in [(0, 0), (0, 1), (0, 5), (1, 1), (2, 2), (2, 1)]:
        expected[true, predicted] += 1
    assert np.array_equal(np.array(m.confusion), expected)
    assert compute_metrics(scores[:, :3], labels).top5 == 1.0  # top-5 of 3 classes: all of them


def test_heads_combine_by_fc8_mean_or_softmax_for_late_fusion() -> None:
    heads = {"fused": np.array([[4.0, 0.0]]), "temporal": np.array([[0.0, 2.0]])}
    assert np.allclose(combine_heads(heads, late=False), [[2.0, 1.0]])
    soft = (np.exp([4.0, 0.0]) / np.exp([4.0, 0.0]).sum() + np.exp([0.0, 2.0]) / np.exp([0.0, 2.0]).sum()) / 2
    assert np.allclose(combine_heads(heads, late=True), [soft])


# --- evaluation end to end --------------------------------------------------------------------------


def test_evaluate_writes_every_output(dataset: tuple[Path, Path], run: Path,
                                      tmp_path: Path) -> None:
    out = tmp_path / "eval"
    done = tsf(*_base(dataset), "--checkpoint", run, "--split", "1", "--out", out, *FAST)
    assert done.returncode == 0, done.stderr
    assert all((out / name).is_file() for name in OUTPUTS)
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [(r["id"], r["label"]) for r in rows] == [(f"{c}/v_{c}_3", i) for i, c in enumerate(CLASSES)]
    assert set(rows[0]["heads"]) == {"fused", "temporal"}
    for r in rows:  # the "+" form: both towers' fc8 averaged
        assert np.allclose(r["scores"], np.mean([r["heads"]["fused"], r["heads"]["temporal"]], 0), atol=2e-6)
    report = json.loads((out / "report.json").read_text())
    labels = [r["label"] for r in rows]
    for head in ("combined", "fused", "temporal"):
        scores = [r["scores"] if head == "combined" else r["heads"][head] for r in rows]
        implied = np.mean(np.argmax(scores, 1) == labels)
        assert report["metrics"][head]["accuracy"] == pytest.approx(implied), head
    assert report["sha256"] == open_checkpoint(run).sha256 and report["checkpoint"] == str(run / "best.pt")
    protocol = report["protocol"]
    assert protocol["positions"] == 3 and protocol["flip"] and protocol["stride"] == 2
    assert protocol["input"] == "whole frame" and protocol["views_per_video"] == 6
    assert report["model"]["keep_temporal"] and report["classes"] == list(CLASSES)
    with (out / "per_class.csv").open() as f:
        table = list(csv.DictReader(f))
    assert [t["name"] for t in table] == list(CLASSES) and all(t["videos"] == "1" for t in table)
    per_class = report["metrics"]["combined"]["per_class"]
    assert [float(t["combined"]) for t in table] == pytest.approx(per_class)
    image = cv2.imread(str(out / "confusion.png"))
    assert image is not None and image.shape[0] == image.shape[1] > 3 * 40
    assert "| combined |" in done.stdout and "split 1: 3 videos, 3 positions x 2 flips" in done.stdout
    assert "Error" not in done.stderr


def test_library_scores_match_a_direct_forward_pass(dataset: tuple[Path, Path],
                                                    run: Path) -> None:
    data, splits = dataset
    config = EvalConfig(positions=2, flip=False, workers=0, batch_size=1)
    result = evaluate(run, data, "list", splits, 1, config, progress=False)
    ckpt = open_checkpoint(run)
    model = ckpt.build()
    sampling = SamplingConfig.from_dict({**ckpt.sampling.to_dict(), "streams": ["rgb", "flow"]})
    items = EvalDataset(data, load_split("list", splits, 1).test[:1], sampling, config, 64)
    with torch.no_grad():
        heads = [model(rgb=items[i]["rgb"], flow=items[i]["flow"]) for i in range(2)]
    for name in ("fused", "temporal"):
        expected = torch.stack([h[name][0] for h in heads]).mean(0).double().numpy()
        assert np.allclose(result.heads[name][0], expected, atol=1e-5)


def test_split_all_reports_each_split_and_the_mean(dataset: tuple[Path, Path], run: Path,
                                                   tmp_path: Path) -> None:
    splits = dataset[1]
    folder, lists = tmp_path / "runs", tmp_path / "splits"
    shutil.copytree(splits, lists)
    tests = (splits / "testlist01.txt").read_text().splitlines(keepends=True)
    for n in (1, 2, 3):
        shutil.copytree(run, folder / f"split{n}")
        (lists / f"trainlist0{n}.txt").write_text((splits / "trainlist01.txt").read_text())
        (lists / f"testlist0{n}.txt").write_text("".join(tests[: n]))  # 1, 2, 3 test videos
    out = tmp_path / "eval"
    done = _invoke(*_base(dataset, lists), "--checkpoint", folder, "--split", "all", "--out", out, *FAST)
    assert done.exit_code == 0, done.output
    reports = [json.loads((out / f"split{n}/report.json").read_text()) for n in (1, 2, 3)]
    assert [r["videos"] for r in reports] == [1, 2, 3]
    assert all((out / "split3" / o).is_file() for o in OUTPUTS)
    summary = json.loads((out / "report.json").read_text())
    assert summary["splits"] == [1, 2, 3]
    for head in ("combined", "fused", "temporal"):
        for key in ("accuracy", "mean_class_accuracy", "top5"):
            mean = np.mean([r["metrics"][head][key] for r in reports])
            assert summary["mean"][head][key] == pytest.approx(mean)
    assert "mean over splits 1, 2, 3" in done.output
    each = [a for n in (1, 2, 3) for a in ("--checkpoint", folder / f"split{n}")]
    three = _invoke(*_base(dataset, lists), *each, "--split", "all", *FAST)
    assert three.exit_code == 0, three.output
    # by default beside the split runs
    assert json.loads((folder / "eval_all/report.json").read_text())["mean"] == summary["mean"]
    two = _invoke(*_base(dataset, lists), "--checkpoint", run, "--checkpoint", run, "--split", "all", *FAST)
    assert two.exit_code == 1 and "three checkpoints" in two.output


def test_evaluate_errors(dataset: tuple[Path, Path], run: Path, tmp_path: Path) -> None:
    splits = dataset[1]
    other = tmp_path / "other"
    shutil.copytree(splits, other)
    (other / "classes.txt").write_text("still\ndrift_left\ndrift_up\n")
    wrong = _invoke(*_base(dataset, other), "--checkpoint", run, *FAST)
    assert wrong.exit_code == 1 and "class 1 is 'drift_down' in the checkpoint, 'drift_left'" in wrong.output
    alone = tmp_path / "alone.pt"
    shutil.copy(run / "best.pt", alone)
    orphan = _invoke(*_base(dataset), "--checkpoint", alone, *FAST)
    assert orphan.exit_code == 1 and "no config.json beside it" in orphan.output
    if not torch.cuda.is_available():
        amp = _invoke(*_base(dataset), "--checkpoint", run, "--amp", "--device", "cpu", *FAST)
        assert amp.exit_code == 2 and "--amp needs a CUDA device" in amp.output
    many = _invoke(*_base(dataset), "--checkpoint", run, "--checkpoint", run, *FAST)
    assert many.exit_code == 2 and "takes one --checkpoint" in many.output


# --- late fusion of score files ---------------------------------------------------------------------


def _scores(path: Path, rows: list[tuple[str, int, list[float]]]) -> Path:
    path.write_text("".join(json.dumps({"id": v, "label": y, "scores": s}) + "\n" for v, y, s in rows))
    return path


def test_fuse_scores(tmp_path: Path) -> None:
    ours = _scores(tmp_path / "a.jsonl",
                   [("v1", 0, [2.0, 0.0]), ("v2", 1, [1.0, 0.0]), ("v3", 1, [0.0, 1.0])])
    # another method's, in another order: right on v2 only
    idt = _scores(tmp_path / "b.jsonl", [("v3", 1, [0.5, 0.0]), ("v2", 1, [0.0, 3.0]), ("v1", 0, [0.0, 1.0])])
    fused = fuse_scores([read_scores(ours), read_scores(idt)])
    assert np.allclose(fused.scores, [[1.0, 0.5], [0.5, 1.5], [0.25, 0.5]])
    assert fused.metrics.accuracy == 1.0 and list(fused.inputs.values())[1].accuracy == pytest.approx(1 / 3)
    weighted = fuse_scores([read_scores(ours), read_scores(idt)], [3, 1])
    assert np.allclose(weighted.scores[1], [0.75, 0.75])
    out = tmp_path / "fused.jsonl"
    done = _invoke("fuse-scores", ours, idt, "--weights", "1,1", "--out", out)
    assert done.exit_code == 0, done.output
    assert "| fused |  | 100.00% |" in done.output
    assert read_scores(out).ids == ("v1", "v2", "v3")


def test_fuse_scores_errors(tmp_path: Path) -> None:
    ours = _scores(tmp_path / "a.jsonl", [("v1", 0, [2.0, 0.0]), ("v2", 1, [1.0, 0.0])])
    fewer = _scores(tmp_path / "b.jsonl", [("v1", 0, [2.0, 0.0])])
    wider = _scores(tmp_path / "c.jsonl", [("v1", 0, [2.0, 0.0, 1.0]), ("v2", 1, [1.0, 0.0, 1.0])])
    relabelled = _scores(tmp_path / "d.jsonl", [("v1", 1, [2.0, 0.0]), ("v2", 1, [1.0, 0.0])])
    broken = tmp_path / "e.jsonl"
    broken.write_text('{"id": "v1", "label": 0, "scores": [1, 2]}\n{"id": "v2"}\n')
    cases = [((ours, fewer), "score different videos (1 in only one, first: v2)"),
             ((ours, wider), "has 3 classes"),
             ((ours, relabelled), "disagree on the label of 'v1'"),
             ((ours, broken), "e.jsonl:2: not a score line")]
    for files, message in cases:
        done = _invoke("fuse-scores", *files)
        assert done.exit_code == 1 and message in done.output, done.output
        assert len(done.output.strip().splitlines()) == 1
    with pytest.raises(ScoresError, match="at least two"):
        fuse_scores([read_scores(ours)])
    weights = _invoke("fuse-scores", ours, ours, "--weights", "1,2,3")
    assert weights.exit_code == 2 and "need 2 non-negative weights" in weights.output
    assert _invoke("fuse-scores", ours).exit_code == 2


# --- checkpoints and data that cannot be evaluated ---------------------------------------------------


def _copy_with_weights(run: Path, folder: Path, content: object) -> Path:
    """A copy of the run folder whose best.pt is ``content``, written by torch.save."""
    shutil.copytree(run, folder)
    torch.save(content, folder / "best.pt")
    return folder


def _error_line(result: object) -> str:
    assert "Traceback" not in result.output, result.output
    (line,) = result.output.strip().splitlines()
    return line


def test_evaluate_refuses_non_finite_and_foreign_checkpoints(dataset: tuple[Path, Path],
                                                             run: Path, tmp_path: Path) -> None:
    best = torch.load(run / "best.pt", weights_only=True)
    weights = best["state_dict"]
    name = next(k for k in weights if k.endswith(".weight"))
    nan = {**best, "state_dict": {**weights, name: torch.full_like(weights[name], math.nan)}}
    cases = {"nan": (nan, f"tensor {name!r} holds NaN or infinite values (the run diverged)"),
             "list": ([1, 2], "not a tsf checkpoint (a list, not the dict tsf train writes)"),
             "empty": ({}, "not a tsf checkpoint (missing 'config')")}
    for case, (content, message) in cases.items():
        folder = _copy_with_weights(run, tmp_path / case, content)
        done = _invoke(*_base(dataset), "--checkpoint", folder, *FAST)
        assert done.exit_code == 1, case
        assert _error_line(done).startswith(f"Error: {folder / 'best.pt'}: {message}")
        with pytest.raises(CheckpointError, match=re.escape(message)):
            open_checkpoint(folder)
    # finite weights that overflow: the scores would reach predictions.jsonl as bare NaN
    huge = {**best, "state_dict": {**weights, name: weights[name] * 1e38}}
    folder = _copy_with_weights(run, tmp_path / "huge", huge)
    done = _invoke(*_base(dataset), "--checkpoint", folder, *FAST)
    assert done.exit_code == 1 and "gives non-finite scores" in _error_line(done)
    assert not (folder / "eval_split1").exists()


def test_a_damaged_frame_read_in_a_worker_stops_evaluation(dataset: tuple[Path, Path],
                                                            run: Path, tmp_path: Path) -> None:
    data = shutil.copytree(dataset[0], tmp_path / "frames")
    (data / "drift_up/v_drift_up_3/img_00001.jpg").write_bytes(b"")  # the first frame of a test video
    done = _invoke("evaluate", "--data", data, "--dataset", "list", "--splits-dir", dataset[1],
                   "--checkpoint", run, "--out", tmp_path / "eval", *FAST, "--workers", "2")
    assert done.exit_code == 1
    assert _error_line(done) == (f"Error: {data}/drift_up/v_drift_up_3/img_00001.jpg: not a readable JPEG "
                                 "(empty, truncated or damaged); extract this video again")


def test_evaluate_outputs_follow_the_umask(dataset: tuple[Path, Path], run: Path,
                                           tmp_path: Path) -> None:
    out = tmp_path / "eval"
    done = tsf(*_base(dataset), "--checkpoint", run, "--out", out, *FAST, umask=0o022)
    assert done.returncode == 0, done.stderr
    for name in OUTPUTS:
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name


def test_fuse_scores_refuses_scores_that_are_not_finite_numbers(tmp_path: Path) -> None:
    ours = _scores(tmp_path / "a.jsonl", [("v1", 0, [2.0, 0.0]), ("v2", 1, [1.0, 0.0])])
    bad = {"[NaN, 0]": "scores must be finite, got nan", "[1, Infinity]": "scores must be finite, got inf",
           '"0123456789"': 'scores must be a non-empty list of numbers, got "0123456789"',
           "[]": "scores must be a non-empty list of numbers, got []",
           '[1, "2"]': 'scores must be numbers, got "2"', "[true, 0]": "scores must be numbers, got true",
           "[1e999, 0]": "scores must be finite, got inf"}
    for scores, message in bad.items():
        other = tmp_path / "b.jsonl"
        other.write_text('{"id": "v1", "label": 0, "scores": [1, 2]}\n'
                         f'{{"id": "v2", "label": 1, "scores": {scores}}}\n')
        done = _invoke("fuse-scores", ours, other)
        assert done.exit_code == 1, scores
        assert _error_line(done).startswith(f"Error: {other}:2: not a score line")
        assert message in done.output, (scores, done.output)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"id": "v1", "label": 0, "scores": [1, 2]}\n'
                      b'{"id": "caf\xe9", "label": 1, "scores": [0, 1]}\n')
    done = _invoke("fuse-scores", ours, latin)
    assert done.exit_code == 1 and _error_line(done).startswith(f"Error: {latin}:2: not UTF-8 text")


def test_fuse_scores_refuses_the_same_file_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = _scores(tmp_path / "a.jsonl", [("v1", 0, [2.0, 0.0]), ("v2", 1, [1.0, 0.0])])
    idt = _scores(tmp_path / "b.jsonl", [("v1", 0, [0.0, 1.0]), ("v2", 1, [0.0, 1.0])])
    monkeypatch.chdir(tmp_path)  # the same file by another name: ./a.jsonl
    done = _invoke("fuse-scores", ours, idt, "./a.jsonl")
    assert done.exit_code == 2
    assert f"a.jsonl is given twice (also as {ours}); fusing a file with itself adds nothing" in done.output
    with pytest.raises(ScoresError, match="is given twice"):
        fuse_scores([read_scores(ours), read_scores(idt), read_scores(ours)])
