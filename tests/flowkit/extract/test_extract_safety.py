"""``tsf extract-flow`` as a skeptical user tries it: colliding and odd names, kills, two runs at
once, damaged bookkeeping, files that are not videos. Nothing it did not make may be lost."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers.cli import ROOT, children, tsf
from helpers.videos import FAST, make_source, tree

from flowkit import read_shard_video, shard_index
from flowkit.datasets.known_flow import moving_frames, write_video


def hashes(root: Path) -> dict[str, str]:
    """Every file under ``root`` (links not followed) by relative path, with its SHA-256."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_src_as_out_never_replaces_a_source_folder(tmp_path: Path) -> None:
    src = make_source(tmp_path / "S", {"x.mp4": 5, "x/y.mp4": 5})
    before = hashes(src)
    result = tsf("extract-flow", src, src, *FAST)
    assert result.returncode == 2, result.stderr
    assert str(src / "x.mp4") in result.stderr and str(src / "x/y.mp4") in result.stderr
    assert hashes(src) == before
    assert not (src / ".tsf-tmp").exists()


@pytest.mark.parametrize("fmt", ["jpeg", "hdf5"])
def test_a_video_beside_a_folder_of_the_same_name_is_refused(tmp_path: Path, fmt: str) -> None:
    src = make_source(tmp_path / "src", {"a.mp4": 5, "a/b.mp4": 5})
    result = tsf("extract-flow", src, tmp_path / "out", *FAST, "--format", fmt)
    assert result.returncode == 2, result.stderr
    assert "the output of 'a/b' would lie inside the output of 'a'" in result.stderr
    assert str(src / "a.mp4") in result.stderr and str(src / "a/b.mp4") in result.stderr


@pytest.mark.parametrize("fmt", ["jpeg", "hdf5"])
def test_overwrite_of_a_listed_video_cannot_reach_a_nested_one(tmp_path: Path, fmt: str) -> None:
    src, out = make_source(tmp_path / "src", {"a.mp4": 5, "a/b.mp4": 5}), tmp_path / "out"
    nested, outer = tmp_path / "nested.txt", tmp_path / "outer.txt"
    nested.write_text("a/b.mp4\n")
    outer.write_text("a.mp4\n")
    assert tsf("extract-flow", src, out, *FAST, "--format", fmt, "--list", nested).returncode == 0
    done = tree(out)
    for extra in ([], ["--overwrite"]):
        result = tsf("extract-flow", src, out, *FAST, "--format", fmt, "--list", outer, *extra)
        assert result.returncode == 2, result.stderr
        assert "'a/b'" in result.stderr and str(src / "a.mp4") in result.stderr
        assert tree(out) == done
    assert lines(out / "annotations.txt") == ["a/b 5 -1"]


def test_hdf5_overwrite_of_one_video_keeps_the_rest_of_its_shard(tmp_path: Path) -> None:
    src = make_source(tmp_path / "src", {"a.avi": 5, "b.avi": 6, "c.avi": 7})
    out, listing = tmp_path / "out", tmp_path / "one.txt"
    args = [*FAST, "--format", "hdf5", "--shard-videos", "2"]
    assert tsf("extract-flow", src, out, *args).returncode == 0
    first = {vid: read_shard_video(out / "shards/job0of1-00000.h5", vid).frames for vid in ("a", "b")}
    index = (out / "index.jsonl").read_text()
    listing.write_text("b.avi\nc.avi\n")
    result = tsf("extract-flow", src, out, *args, "--overwrite", "--list", listing)
    assert result.returncode == 0, result.stderr
    assert (out / "index.jsonl").read_text() == index
    assert sorted(shard_index(out / "shards/job0of1-00000.h5")) == ["a", "b"]
    assert sorted(shard_index(out / "shards/job0of1-00001.h5")) == ["c"]
    for vid in ("a", "b"):  # b redone with the same settings gives the same bytes
        assert read_shard_video(out / "shards/job0of1-00000.h5", vid).frames == first[vid]
    assert lines(out / "annotations.txt") == ["a 5 -1", "b 6 -1", "c 7 -1"]
    assert lines(out / "annotations_flow.txt") == ["a 4 -1", "b 5 -1", "c 6 -1"]


@pytest.mark.parametrize("name", ["annotations.txt.mp4", ".tsf-tmp.mp4", "shards/v.mp4"])
def test_a_video_named_as_a_bookkeeping_file_is_refused(tmp_path: Path, name: str) -> None:
    src, out = make_source(tmp_path / "src", {"ok.avi": 5, name: 5}), tmp_path / "out"
    result = tsf("extract-flow", src, out, *FAST)
    assert result.returncode == 2, result.stderr
    assert "tsf's own" in result.stderr and str(src / name) in result.stderr
    assert not (out / "annotations.txt").exists()
    # in HDF5 no video becomes a path of the output folder: the same names are fine there
    assert tsf("extract-flow", src, tmp_path / "h5", *FAST, "--format", "hdf5").returncode == 0


def test_a_users_file_at_a_videos_output_path_is_kept(tmp_path: Path) -> None:
    src, out = make_source(tmp_path / "src", {"v.avi": 5}), tmp_path / "out"
    (out / "v").mkdir(parents=True)
    (out / "v/notes.txt").write_text("mine")
    result = tsf("extract-flow", src, out, *FAST)
    assert result.returncode == 2 and str(out / "v") in result.stderr
    assert (out / "v/notes.txt").read_text() == "mine"


def test_a_newline_in_a_name_fails_that_video_only(tmp_path: Path) -> None:
    src, out = make_source(tmp_path / "src", {"good.avi": 5, "two\nlines.avi": 5}), tmp_path / "out"
    result = tsf("extract-flow", src, out, *FAST)
    assert result.returncode == 1
    assert lines(out / "annotations.txt") == ["good 5 -1"]
    failure = json.loads((out / "failures.jsonl").read_text())
    assert failure["id"] == "two\nlines" and "control character" in failure["reason"]


def test_long_unicode_and_spaced_names(tmp_path: Path) -> None:
    long = "é" * 125  # 250 bytes: legal as a folder name, too long with a prefix
    src = make_source(tmp_path / "src", {f"k/{long}.avi": 5, "with space/a b.avi": 5})
    out = tmp_path / "out"
    result = tsf("extract-flow", src, out, *FAST)
    assert result.returncode == 0, result.stderr
    assert lines(out / "annotations.txt") == [f"k/{long} 5 -1", "with space/a b 5 -1"]
    assert (out / "k" / long / "flow_y_00004.jpg").is_file()


def test_a_link_loop_is_listed_once(tmp_path: Path) -> None:
    src = make_source(tmp_path / "src", {"a/v.avi": 5, "b/w.avi": 5})
    os.symlink(src, src / "a/loop")
    os.symlink(src / "b", src / "again")
    result = tsf("extract-flow", src, tmp_path / "out", *FAST)
    assert result.returncode == 0, result.stderr
    assert lines(tmp_path / "out/annotations.txt") == ["a/v 5 -1", "b/w 5 -1"]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2 and any(str(src / "a/loop") in w for w in warnings)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_workers_end_with_their_parent(tmp_path: Path, how: signal.Signals) -> None:
    src = make_source(tmp_path / "src", {"long.avi": 80}, size=(96, 128))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "extract-flow", src, out, "--no-resize", "--backend", "numpy",
         "--format", "hdf5", "--quiet"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while not workers and time.monotonic() < deadline:
        workers = [c for c in children(process.pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
        time.sleep(0.2)
    assert workers, "no worker started"
    time.sleep(2)  # the worker is busy with the video
    os.kill(process.pid, how)
    process.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{w}").exists() for w in workers), "a worker outlived its parent"
    if how == signal.SIGTERM:  # handled: the run cleaned up after itself
        assert process.returncode == 128 + signal.SIGTERM
        assert not (out / ".tsf-tmp").exists()


@pytest.mark.parametrize("fmt", ["jpeg", "hdf5"])
def test_torn_bookkeeping_lines_are_repaired(tmp_path: Path, fmt: str) -> None:
    src, out = make_source(tmp_path / "src", {"a.avi": 5, "b.avi": 5}), tmp_path / "out"
    listing = tmp_path / "a.txt"
    listing.write_text("a.avi\n")
    assert tsf("extract-flow", src, out, *FAST, "--format", fmt, "--list", listing).returncode == 0
    torn = ["annotations.txt", "annotations_flow.txt", "failures.jsonl"]
    torn += ["index.jsonl"] if fmt == "hdf5" else []
    for name in torn:  # as a crash in the middle of an append leaves them
        with open(out / name, "a") as f:
            f.write('{"id": "b", "sha' if name.endswith(".jsonl") else "b 5")
    result = tsf("extract-flow", src, out, *FAST, "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert sum("torn last line" in line for line in result.stderr.splitlines()) == len(torn)
    assert lines(out / "annotations.txt") == ["a 5 -1", "b 5 -1"]
    assert lines(out / "annotations_flow.txt") == ["a 4 -1", "b 4 -1"]
    assert (out / "failures.jsonl").read_text() == ""
    if fmt == "hdf5":
        assert [json.loads(line)["id"] for line in lines(out / "index.jsonl")] == ["a", "b"]


def test_a_second_run_on_the_same_job_is_refused(tmp_path: Path) -> None:
    src = make_source(tmp_path / "src", {"long.avi": 60, "b.avi": 5}, size=(96, 128))
    out = tmp_path / "out"
    args = ["--no-resize", "--backend", "numpy", "--quiet"]
    first = subprocess.Popen([sys.executable, "-m", "cli.main", "extract-flow", src, out, *args],
                             cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any((out / ".tsf-tmp").rglob("img_00002.jpg")) and time.monotonic() < deadline:
        time.sleep(0.1)
    second = tsf("extract-flow", src, out, *args)
    assert second.returncode == 2
    assert f"another tsf extract-flow run (pid {first.pid} on" in second.stderr
    assert "job 0 of 1" in second.stderr
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert lines(out / "annotations.txt") == ["b 5 -1", "long 60 -1"]


def test_a_fifo_fails_instead_of_hanging(tmp_path: Path) -> None:
    src = make_source(tmp_path / "src", {"ok.avi": 5})
    os.mkfifo(src / "pipe.mp4")
    result = tsf("extract-flow", src, tmp_path / "out", *FAST, timeout=60)
    assert result.returncode == 1
    failure = json.loads((tmp_path / "out/failures.jsonl").read_text())
    assert failure["id"] == "pipe" and failure["reason"] == "cannot open: not a regular file (a FIFO)"


def test_a_truncated_file_is_flagged_and_strict_fails_it(tmp_path: Path) -> None:
    src = tmp_path / "src"
    whole = write_video(src / "cut.mkv", moving_frames(40, 48, 64), codec="libx264")
    whole.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    out = tmp_path / "out"
    result = tsf("extract-flow", src, out, *FAST)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings and all(str(src / "cut.mkv") in w for w in warnings)
    assert any("File ended prematurely" in w for w in warnings)
    meta = json.loads((out / "cut/meta.json").read_text())
    assert meta["decode_errors"] and meta["num_frames"] < 40
    strict = tsf("extract-flow", src, tmp_path / "strict", *FAST, "--strict")
    assert strict.returncode == 1
    failure = json.loads((tmp_path / "strict/failures.jsonl").read_text())
    assert "the decoder reported errors" in failure["reason"]
    assert not (tmp_path / "strict/cut").exists()


# as another user, multiprocessing's helper processes cannot start from root's interpreter here:
# the run as nobody takes the same path in one process
_AS_NOBODY = """
import sys
from flowkit import ExtractConfig, Resize, RunOptions, extract, find_videos
summary = extract(find_videos(sys.argv[1]), sys.argv[2], ExtractConfig(backend="opencv", resize=Resize(64)),
                  RunOptions(jobs=0))
sys.exit(1 if summary.failed else 0)
"""


def test_an_unreadable_folder_is_a_failure(tmp_path: Path) -> None:
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("root reads every folder, and setpriv is not here to run as another user")
    # a folder every user can reach: the test runs as nobody when it runs as root
    base = Path(tempfile.mkdtemp(prefix="tsf-perm-"))
    try:
        base.chmod(0o777)
        src = make_source(base / "src", {"open/v.avi": 5, "closed/w.avi": 5})
        for folder in (src, src / "open"):
            folder.chmod(0o755)
        (src / "closed").chmod(0o000)
        out = base / "out"
        if os.geteuid() == 0:
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                       _AS_NOBODY, src, out]
        else:
            command = [sys.executable, "-m", "cli.main", "extract-flow", src, out, *FAST]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 1, result.stderr
        failure = json.loads((out / "failures.jsonl").read_text())
        assert failure["id"] == "closed" and failure["reason"] == "cannot list this folder: Permission denied"
        assert lines(out / "annotations.txt") == ["open/v 5 -1"]
    finally:
        (base / "src/closed").chmod(0o755)
        shutil.rmtree(base)


def test_a_byte_order_mark_is_not_part_of_the_first_path(tmp_path: Path) -> None:
    src, listing = make_source(tmp_path / "src", {"a.avi": 5}), tmp_path / "list.txt"
    listing.write_bytes("\ufeffa.avi\n".encode())
    result = tsf("extract-flow", src, tmp_path / "out", *FAST, "--list", listing)
    assert result.returncode == 0, result.stderr
    assert lines(tmp_path / "out/annotations.txt") == ["a 5 -1"]


@pytest.mark.parametrize("fmt", ["jpeg", "hdf5"])
def test_outputs_follow_the_umask(tmp_path: Path, fmt: str) -> None:
    src, out = make_source(tmp_path / "src", {"a.avi": 5, "bad.avi": 1}), tmp_path / "out"
    result = tsf("extract-flow", src, out, *FAST, "--format", fmt, preexec_fn=lambda: os.umask(0o022))
    assert result.returncode == 1
    files = [p for p in out.rglob("*") if p.is_file() and p.name != ".tsf.lock"]
    assert len(files) > 4
    modes = {p.relative_to(out).as_posix(): oct(p.stat().st_mode & 0o777) for p in files}
    assert set(modes.values()) == {"0o644"}, modes


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["jpeg", "hdf5"])
def test_nothing_is_lost_in_a_tree_of_odd_names(tmp_path: Path, fmt: str) -> None:
    """The data-loss rule end to end: the output inside the source, a kill and a rerun, and an
    overwrite of a few videos leave every source file as it was and every finished video whole."""
    names = {"Class A/v 1.avi": 6, "Class A/v_2.mp4": 5, "Ünï/ç ödé.mkv": 5, "deep/er/still/v.avi": 7,
             "x/y.avi": 5, "x.y/z.avi": 5, f"long/{'n' * 200}.avi": 5}
    src = make_source(tmp_path / "S", names, size=(96, 128))
    (src / "notes.txt").write_text("not a video")
    (src / "frames").mkdir()
    (src / "frames/keep.jpg").write_bytes(b"user's own")
    out = src / "frames" / fmt  # output inside the source tree
    args = ["--no-resize", "--backend", "opencv", "--format", fmt, "--shard-videos", "3", "--quiet"]
    sources = hashes(src)
    clean = tmp_path / "clean"
    assert tsf("extract-flow", src, clean, *args).returncode == 0
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "extract-flow", src, out, *args],
                               cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (out / "annotations.txt").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert tsf("extract-flow", src, out, *args).returncode == 0
    assert tree(out) == tree(clean)
    listing = tmp_path / "list.txt"
    listing.write_text("x/y.avi\nClass A/v 1.avi\n")
    result = tsf("extract-flow", src, out, *args, "--overwrite", "--list", listing)
    assert result.returncode == 0, result.stderr
    assert tree(out) == tree(clean)
    again = tsf("extract-flow", src, src, *args)  # SRC == OUT: every output folder lands beside its source
    assert again.returncode == 0, again.stderr
    assert {k: v for k, v in hashes(src).items() if k in sources} == sources
    assert (src / "frames/keep.jpg").read_bytes() == b"user's own"


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 256 KiB file system (tmpfs), mounted for the test and unmounted after it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mount], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {made.stderr.strip() or made.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", mount], check=False)


@pytest.mark.parametrize("fmt", ["jpeg", "hdf5"])
def test_a_full_disk_stops_the_run_and_keeps_what_was_done(tmp_path: Path, small_disk: Path, fmt: str) -> None:
    src = make_source(tmp_path / "src", {f"v{i:02d}.avi": 10 for i in range(12)}, size=(96, 128))
    out, listing = small_disk / "out", tmp_path / "first.txt"
    listing.write_text("v00.avi\n")
    args = [*FAST, "--format", fmt, "--shard-videos", "1"]
    assert tsf("extract-flow", src, out, *args, "--list", listing).returncode == 0
    before = tree(out)
    full = tsf("extract-flow", src, out, *args)
    assert full.returncode == 1
    assert "No space left on device" in full.stderr and full.stderr.count("\n") == 1, full.stderr
    after = tree(out)
    for name, data in before.items():  # what was done is whole; the lists only grew
        if name.endswith((".txt", ".jsonl")):
            assert set(data.splitlines()) <= set(after[name].splitlines()), name
        else:
            assert after.get(name) == data, name
