"""``tsf extract-flow`` end to end: the real command on videos the tests encode with PyAV."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers.cli import ROOT, children, tsf
from helpers.videos import FAST, make_source, resolution_change, tree

from flowkit import (
    ExtractConfig,
    Resize,
    VideoReader,
    compute_flow,
    dequantize,
    read_shard_video,
    shard_index,
)
from flowkit.datasets.known_flow import moving_frames, write_video
from flowkit.extract.pipeline import distinct_frames

@pytest.fixture
def source(tmp_path: Path) -> Path:
    return make_source(tmp_path / "src", {"ClassA/v_a1.avi": 10, "ClassA/v_a2.mp4": 7, "ClassB/v_b1.mkv": 8})


def test_jpeg_rawframes(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = tsf("extract-flow", source, out, "--short-side", "64", "--backend", "opencv", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert "3 done, 0 skipped, 0 failed of 3 videos" in done.stderr.splitlines()[-1]
    assert (out / "annotations.txt").read_text() == "ClassA/v_a1 10 -1\nClassA/v_a2 7 -1\nClassB/v_b1 8 -1\n"
    assert (out / "failures.jsonl").read_text() == ""
    assert not (out / ".tsf-tmp").exists()
    for vid, count in (("ClassA/v_a1", 10), ("ClassA/v_a2", 7), ("ClassB/v_b1", 8)):
        folder = out / vid
        names = sorted(p.name for p in folder.iterdir())
        assert names == sorted([f"img_{k:05d}.jpg" for k in range(1, count + 1)]
                               + [f"flow_{c}_{k:05d}.jpg" for c in "xy" for k in range(1, count)]
                               + ["meta.json"])
        for name in names[:-1]:
            image = cv2.imread(str(folder / name), cv2.IMREAD_UNCHANGED)
            assert image is not None and image.shape[:2] == (64, 84), name
            assert image.ndim == (3 if name.startswith("img") else 2), name
        meta = json.loads((folder / "meta.json").read_text())
        assert meta["num_frames"] == count and meta["num_flows"] == count - 1
        assert (meta["width"], meta["height"], meta["source_width"], meta["source_height"]) == (84, 64, 64, 48)
        assert meta["method"] == "tvl1" and meta["bound"] == 20 and meta["step"] == 1 and meta["fps"] == 25
        assert meta["params"]["lambda_"] == 0.15 and meta["quality"] == 95 and meta["backend"] == "opencv"
        source_file = next(source.glob(vid + ".*"))
        assert meta["source"] == str(source_file.resolve())
        assert meta["source_bytes"] == source_file.stat().st_size
        assert meta["source_mtime_ns"] == source_file.stat().st_mtime_ns
    settings = json.loads((out / "extract.json").read_text())["settings"]
    assert settings["format"] == "jpeg" and settings["resize"] == {"short_side": 64, "size": None}


def test_flow_images_match_compute_flow(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert tsf("extract-flow", source, out, *FAST).returncode == 0
    with VideoReader(source / "ClassA/v_a1.avi", Resize(short_side=64)) as video:
        frames = list(video)
    step = 2 * 20 / 255
    for k in (1, 5, 9):
        flow = np.clip(compute_flow(frames[k - 1], frames[k], backend="opencv"), -20, 20)
        stored = np.stack([cv2.imread(str(out / f"ClassA/v_a1/flow_{c}_{k:05d}.jpg"), cv2.IMREAD_UNCHANGED)
                           for c in "xy"], axis=2)
        error = np.abs(dequantize(stored) - flow)
        # half a quantisation step from rounding, plus a few steps of JPEG error at most
        assert error.mean() < step / 2 and error.max() < 3 * step, (k, error.mean(), error.max())
        rgb = cv2.cvtColor(cv2.imread(str(out / f"ClassA/v_a1/img_{k:05d}.jpg")), cv2.COLOR_BGR2RGB)
        assert np.abs(rgb.astype(int) - frames[k - 1]).mean() < 3


def test_step_no_rgb_and_exact_size(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = tsf("extract-flow", source, out, "--step", "3", "--no-rgb", "--size", "40x30", "--backend", "opencv")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in (out / "ClassA/v_a2").iterdir())
    assert names == sorted([f"flow_{c}_{k:05d}.jpg" for c in "xy" for k in range(1, 5)] + ["meta.json"])
    assert cv2.imread(str(out / "ClassA/v_a2/flow_x_00004.jpg"), cv2.IMREAD_UNCHANGED).shape == (30, 40)
    meta = json.loads((out / "ClassA/v_a2/meta.json").read_text())
    assert (meta["num_frames"], meta["num_flows"], meta["step"], meta["rgb"]) == (7, 4, 3, False)


def test_hdf5_shards_hold_the_jpeg_bytes(source: Path, tmp_path: Path) -> None:
    jpeg, hdf5 = tmp_path / "jpeg", tmp_path / "hdf5"
    assert tsf("extract-flow", source, jpeg, *FAST).returncode == 0
    done = tsf("extract-flow", source, hdf5, *FAST, "--format", "hdf5", "--shard-videos", "2", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (hdf5 / "shards").iterdir()) == ["job0of1-00000.h5", "job0of1-00001.h5"]
    assert (hdf5 / "annotations.txt").read_text() == (jpeg / "annotations.txt").read_text()
    index = [json.loads(line) for line in (hdf5 / "index.jsonl").read_text().splitlines()]
    assert [(r["id"], r["shard"], r["num_frames"], r["num_flows"]) for r in index] == [
        ("ClassA/v_a1", "shards/job0of1-00000.h5", 10, 9),
        ("ClassA/v_a2", "shards/job0of1-00000.h5", 7, 6),
        ("ClassB/v_b1", "shards/job0of1-00001.h5", 8, 7),
    ]
    for record in index:
        video = read_shard_video(hdf5 / record["shard"], record["id"])
        folder = jpeg / record["id"]
        for kind, frames in video.frames.items():
            assert frames == [(folder / f"{kind}_{k:05d}.jpg").read_bytes() for k in range(1, len(frames) + 1)]
        assert set(video.frames) == {"img", "flow_x", "flow_y"}
        meta = json.loads((folder / "meta.json").read_text())
        assert video.meta == {**meta, "format": "hdf5"}
    assert not list(hdf5.rglob("*.tmp"))


def _bad_sources(root: Path) -> Path:
    make_source(root, {"good/ok.avi": 6, "bad/one_frame.avi": 1})
    (root / "bad/corrupt.mp4").write_bytes(np.random.default_rng(0).bytes(20000))
    whole = write_video(root / "bad/whole.mp4", moving_frames(30, 48, 64), codec="libx264")
    payload = whole.read_bytes()
    whole.unlink()
    (root / "bad/truncated.mp4").write_bytes(payload[: len(payload) // 2])
    import av

    with av.open(str(root / "bad/audio_only.mp4"), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    os.symlink(root / "gone.avi", root / "bad/unreadable.avi")
    return root


def test_bad_videos_are_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    src, out = _bad_sources(tmp_path / "src"), tmp_path / "out"
    result = tsf("extract-flow", src, out, "--short-side", "64", "--backend", "opencv", "--jobs", "2")
    assert result.returncode == 1
    failures = {r["id"]: r for r in map(json.loads, (out / "failures.jsonl").read_text().splitlines())}
    assert sorted(failures) == ["bad/audio_only", "bad/corrupt", "bad/one_frame", "bad/truncated", "bad/unreadable"]
    assert failures["bad/audio_only"]["reason"] == "no video stream"
    assert failures["bad/one_frame"]["reason"] == "decoded 1 frame(s); flow with step 1 needs at least 2"
    assert failures["bad/unreadable"]["reason"].startswith("cannot open: No such file")
    assert failures["bad/corrupt"]["reason"].startswith("cannot open")
    assert failures["bad/truncated"]["reason"].startswith("cannot open")
    assert failures["bad/corrupt"]["path"] == str(src / "bad/corrupt.mp4")
    errors = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert len(errors) == 5 and any("corrupt.mp4: cannot open" in line for line in errors)
    assert (out / "annotations.txt").read_text() == "good/ok 6 -1\n"
    assert sorted(p.name for p in out.iterdir()) == [".tsf.lock", "annotations.txt", "annotations_flow.txt", "extract.json",
                                                      "failures.jsonl", "good"]
    again = tsf("extract-flow", src, out, "--short-side", "64", "--backend", "opencv")
    assert again.returncode == 1 and "0 done, 1 skipped, 5 failed" in again.stderr


def test_a_resolution_change_mid_stream_keeps_one_size(tmp_path: Path) -> None:
    # before the reader fixed the size at the first frame, the pair across the change had two
    # sizes and took the whole run down with a traceback
    src = make_source(tmp_path / "src", {"good.avi": 6})
    resolution_change(src / "switch.mpg")
    out = tmp_path / "out"
    result = tsf("extract-flow", src, out, *FAST, "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert (out / "annotations.txt").read_text() == "good 6 -1\nswitch 10 -1\n"
    meta = json.loads((out / "switch/meta.json").read_text())
    assert (meta["width"], meta["height"], meta["source_width"], meta["source_height"]) == (84, 64, 64, 48)
    for name in ("img_00010.jpg", "flow_x_00005.jpg", "flow_y_00009.jpg"):
        assert cv2.imread(str(out / "switch" / name), cv2.IMREAD_UNCHANGED).shape[:2] == (64, 84), name


def test_fail_fast_stops_at_the_first_failure(tmp_path: Path) -> None:
    src = make_source(tmp_path / "src", {"a.avi": 1, "b.avi": 5, "c.avi": 5})
    result = tsf("extract-flow", src, tmp_path / "out", *FAST, "--fail-fast")
    assert result.returncode == 1
    assert not (tmp_path / "out/b").exists() and not (tmp_path / "out/c").exists()
    assert json.loads((tmp_path / "out/failures.jsonl").read_text())["id"] == "a"


def test_resume_skips_finished_and_overwrite_redoes(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert tsf("extract-flow", source, out, *FAST).returncode == 0
    first = tree(out)
    stamp = (out / "ClassA/v_a1/img_00001.jpg").stat().st_mtime_ns
    again = tsf("extract-flow", source, out, "--short-side", "64", "--backend", "opencv")
    assert again.returncode == 0 and "0 done, 3 skipped, 0 failed" in again.stderr
    assert (out / "ClassA/v_a1/img_00001.jpg").stat().st_mtime_ns == stamp
    assert tree(out) == first
    redo = tsf("extract-flow", source, out, "--short-side", "64", "--backend", "opencv", "--overwrite")
    assert redo.returncode == 0 and "3 done, 0 skipped" in redo.stderr
    assert (out / "ClassA/v_a1/img_00001.jpg").stat().st_mtime_ns != stamp
    assert tree(out) == first
    other = tsf("extract-flow", source, out, *FAST, "--quality", "80")
    assert other.returncode == 2 and "other settings (quality differ)" in other.stderr


def test_brox_extraction(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = tsf("extract-flow", source, out, "--method", "brox", "--short-side", "48", "--quiet")
    assert result.returncode == 0, result.stderr
    meta = json.loads((out / "ClassA/v_a2/meta.json").read_text())
    assert (meta["method"], meta["backend"], meta["params"]["alpha"]) == ("brox", "numpy", 0.197)
    with VideoReader(source / "ClassA/v_a2.mp4", Resize(short_side=48)) as video:
        frames = list(video)
    flow = compute_flow(frames[2], frames[3], method="brox", backend="numpy")
    stored = np.stack([cv2.imread(str(out / f"ClassA/v_a2/flow_{c}_00003.jpg"), cv2.IMREAD_UNCHANGED)
                       for c in "xy"], axis=2)
    assert np.abs(dequantize(stored) - flow).mean() < 20 / 255


def test_list_file_selects_videos(source: Path, tmp_path: Path) -> None:
    listing = tmp_path / "trainlist.txt"
    listing.write_text("ClassB/v_b1.mkv 2\nClassA/v_a2.mp4 1\n")
    result = tsf("extract-flow", source, tmp_path / "out", *FAST, "--list", listing)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/annotations.txt").read_text() == "ClassA/v_a2 7 -1\nClassB/v_b1 8 -1\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}", "{out}"], "does not exist"),
        (["{src}", "{file}/out"], "not writable"),
        (["{src}", "{out}", "--list", "{escape}"], "escape the output folder"),
        (["{src}", "{out}", "--size", "big"], "not WIDTHxHEIGHT"),
        (["{src}", "{out}", "--devices", "0", "--backend", "opencv"], "devices are for the cupy backend"),
        (["{src}", "{out}", "--preset", "opencv-cdua"], "did you mean opencv-cuda"),
        (["{src}", "{out}", "--method", "brox", "--backend", "opencv"], "OpenCV has no CPU Brox"),
        (["{src}", "{out}", "--num-shards", "2"], "--num-shards and --shard-index together"),
        (["{src}", "{out}", "--num-shards", "2", "--shard-index", "2"], "shard index must be in 0..1"),
    ],
)
def test_usage_errors_exit_2(source: Path, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "file").write_text("")
    (tmp_path / "escape.txt").write_text("../outside.avi\n")
    names = {"missing": tmp_path / "nope", "out": tmp_path / "out", "src": source, "file": tmp_path / "file",
             "escape": tmp_path / "escape.txt"}
    result = tsf("extract-flow", *(a.format(**names) for a in args))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("Error")]) == 1


def test_cluster_array_jobs_share_one_output(source: Path, tmp_path: Path) -> None:
    single, shared = tmp_path / "single", tmp_path / "shared"
    assert tsf("extract-flow", source, single, *FAST, "--format", "hdf5").returncode == 0
    first = tsf("extract-flow", source, shared, *FAST, "--format", "hdf5", "--num-shards", "2", "--shard-index", "0")
    slurm = {"SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_MIN": "7", "SLURM_ARRAY_TASK_COUNT": "2"}
    second = tsf("extract-flow", source, shared, *FAST, "--format", "hdf5", env=slurm)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert sorted(p.name for p in (shared / "shards").iterdir()) == ["job0of2-00000.h5", "job1of2-00000.h5"]
    assert sorted(shard_index(shared / "shards/job0of2-00000.h5")) == ["ClassA/v_a1", "ClassB/v_b1"]
    assert sorted(shard_index(shared / "shards/job1of2-00000.h5")) == ["ClassA/v_a2"]
    assert (shared / "annotations.txt").read_text() == (single / "annotations.txt").read_text()
    index = [json.loads(line)["id"] for line in (shared / "index.jsonl").read_text().splitlines()]
    assert index == ["ClassA/v_a1", "ClassA/v_a2", "ClassB/v_b1"]
    for vid in index:
        shard = "job1of2-00000.h5" if vid == "ClassA/v_a2" else "job0of2-00000.h5"
        assert (read_shard_video(shared / "shards" / shard, vid).frames
                == read_shard_video(single / "shards/job0of1-00000.h5", vid).frames)


def _no_file_over(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes fail with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_write_failure_stops_and_counts_nothing_half_done(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    listing = tmp_path / "first.txt"
    listing.write_text("ClassA/v_a1.avi\n")
    assert tsf("extract-flow", source, out, *FAST, "--list", listing).returncode == 0
    before = tree(out)
    # every file above 2000 bytes fails to write, as on a full disk; RGB JPEGs are larger
    full = tsf("extract-flow", source, out, *FAST, preexec_fn=lambda: _no_file_over(2000))
    assert full.returncode == 1
    assert "cannot write: File too large" in full.stderr and full.stderr.count("\n") == 1
    assert tree(out) == before
    assert tsf("extract-flow", source, out, *FAST).returncode == 0
    assert (out / "annotations.txt").read_text().count("\n") == 3


def test_a_crashed_worker_fails_its_video_only(tmp_path: Path) -> None:
    src = make_source(tmp_path / "src", {"a_long.avi": 60, "b_short.avi": 4}, size=(96, 128))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "extract-flow", src, out, "--no-resize", "--backend", "numpy",
         "--quiet"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    worker = None
    while worker is None and time.monotonic() < deadline:
        for child in children(process.pid):
            if "spawn_main" in Path(f"/proc/{child}/cmdline").read_text() and any(
                    (out / ".tsf-tmp").rglob("img_00002.jpg")):
                worker = child
        time.sleep(0.1)
    assert worker is not None, "no worker started"
    os.kill(worker, signal.SIGSEGV)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    failure = json.loads((out / "failures.jsonl").read_text())
    assert failure["id"] == "a_long"
    assert failure["reason"] == "the worker process died (SIGSEGV) while processing this video"
    assert (out / "annotations.txt").read_text() == "b_short 4 -1\n"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["jpeg", "hdf5"])
def test_sigkill_then_rerun_gives_the_same_bytes(tmp_path: Path, fmt: str) -> None:
    src = make_source(tmp_path / "src", {f"c{i}/v{i}.avi": 8 for i in range(8)}, size=(96, 128))
    args = ["--no-resize", "--backend", "opencv", "--format", fmt, "--shard-videos", "2", "--quiet"]
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    assert tsf("extract-flow", src, clean, *args).returncode == 0
    progress = killed / ("shards" if fmt == "hdf5" else "c0")
    for wait_for_progress in (False, True):
        process = subprocess.Popen([sys.executable, "-m", "cli.main", "extract-flow", src, killed, *args],
                                   cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + 60
        if wait_for_progress:
            while not (progress.exists() and any(progress.iterdir())) and time.monotonic() < deadline:
                time.sleep(0.02)
        else:
            time.sleep(1.5)
        assert process.poll() is None, "the run ended before it could be killed"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    partial = tree(killed)
    assert partial != tree(clean)
    assert tsf("extract-flow", src, killed, *args).returncode == 0
    assert tree(killed) == tree(clean)


@pytest.mark.slow
def test_shared_videos(shared_data: Path, tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("test.avi\npart_0.mp4\n")
    out = tmp_path / "out"
    result = tsf("extract-flow", shared_data / "videos", out, "--list", listing, "--short-side", "64",
                 "--backend", "opencv", "--jobs", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    assert (out / "annotations.txt").read_text() == "part_0 32 -1\ntest 164 -1\n"
    meta = json.loads((out / "test/meta.json").read_text())
    assert (meta["width"], meta["height"], meta["source_width"], meta["codec"]) == (84, 64, 320, "mpeg4")
    assert len(list((out / "test").glob("flow_x_*.jpg"))) == 163
    assert len(list((out / "part_0").glob("img_*.jpg"))) == 32
    with VideoReader(shared_data / "videos/part_0.mp4", Resize(short_side=64)) as video:
        frames = list(video)
    flow = np.clip(compute_flow(frames[10], frames[11], backend="opencv"), -20, 20)
    stored = np.stack([cv2.imread(str(out / f"part_0/flow_{c}_00011.jpg"), cv2.IMREAD_UNCHANGED) for c in "xy"], 2)
    assert np.abs(dequantize(stored) - flow).mean() < 20 / 255


def test_slurm_array_script(source: Path, tmp_path: Path) -> None:
    """docker/slurm/extract_flow.sbatch, run as SLURM would run its two array tasks."""
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "srun").write_text('#!/bin/sh\nexec "$@"\n')
    (shim / "srun").chmod(0o755)
    out = tmp_path / "out"
    for task in ("0", "1"):
        env = {"PATH": f"{shim}:{os.environ['PATH']}", "SRC": str(source), "OUT": str(out),
               "TSF": f"{sys.executable} -m cli.main", "SLURM_ARRAY_TASK_ID": task,
               "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "2"}
        result = subprocess.run(["bash", ROOT / "docker/slurm/extract_flow.sbatch", "--short-side", "64",
                                 "--backend", "opencv"], cwd=ROOT, env={**os.environ, **env},
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["job0of2-00000.h5", "job1of2-00000.h5"]
    assert (out / "annotations.txt").read_text() == "ClassA/v_a1 10 -1\nClassA/v_a2 7 -1\nClassB/v_b1 8 -1\n"


@pytest.mark.parametrize("step", [1, 2])
def test_distinct_frames_stacks_each_frame_once(step: int) -> None:
    # two videos' pairs in one batch, as the worker gathers them: frames shared by pairs are one array
    videos = [list(moving_frames(5, 16, 16, seed=s)) for s in (0, 1)]
    pairs = [(v[k], v[k + step]) for v in videos for k in range(len(v) - step)]
    frames, first, second = distinct_frames(pairs)
    assert len(frames) == 10
    for (a, b), i, j in zip(pairs, first, second, strict=True):
        assert np.array_equal(frames[i], a) and np.array_equal(frames[j], b)
    equal_but_distinct = [(videos[0][0].copy(), videos[0][1]), (videos[0][0].copy(), videos[0][1])]
    assert len(distinct_frames(equal_but_distinct)[0]) == 3


def test_pairs_batched_across_videos_match_unbatched(tmp_path: Path) -> None:
    # three short videos of one size and one of another: batches span videos and flush at the change
    src = make_source(tmp_path / "src", {"a.avi": 3, "b.avi": 4, "c.avi": 3})
    make_source(tmp_path / "src", {"d_wide.avi": 4}, size=(32, 96))
    common = ["--no-resize", "--backend", "numpy", "--quiet", "--preset", "opencv-cuda"]
    single, batched = tmp_path / "single", tmp_path / "batched"
    assert tsf("extract-flow", src, single, *common).returncode == 0
    result = tsf("extract-flow", src, batched, *common, "--batch-pairs", "4", "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert (batched / "annotations.txt").read_text() == (single / "annotations.txt").read_text()
    step = 40 / 255
    for vid, count in (("a", 3), ("b", 4), ("c", 3), ("d_wide", 4)):
        for k in range(1, count):
            for c in "xy":
                name = f"{vid}/flow_{c}_{k:05d}.jpg"
                one, many = (cv2.imread(str(root / name), cv2.IMREAD_UNCHANGED) for root in (single, batched))
                assert np.abs(dequantize(one) - dequantize(many)).max() <= step + 1e-6, name
        assert (batched / vid / "img_00001.jpg").read_bytes() == (single / vid / "img_00001.jpg").read_bytes()


def test_a_gpu_call_takes_a_fixed_number_of_pixels_by_default() -> None:
    gpu = ExtractConfig(backend="cupy")
    assert gpu.pairs_per_call(256, 340) == 128
    assert gpu.pairs_per_call(1080, 1920) == 5  # a call's memory stays that of 128 pairs at 340x256
    assert gpu.pairs_per_call(4000, 4000) == 1
    assert ExtractConfig(backend="numpy").pairs_per_call(256, 340) == 1
    assert ExtractConfig(backend="cupy", batch_pairs=7).pairs_per_call(1080, 1920) == 7
