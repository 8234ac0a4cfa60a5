"""``tsf flow`` through Click's runner and as a real subprocess."""

import json
import os
import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from cli.main import tsf
from flowkit import read_flo, read_image
from flowkit.datasets.known_flow import write_pair


def test_help_lists_the_commands():
    result = CliRunner().invoke(tsf, ["--help"])
    assert result.exit_code == 0 and "flow" in result.output


def test_flow_writes_flo_json_and_picture(tmp_path):
    pair = write_pair(tmp_path / "pair", width=96, height=72)
    out, viz = tmp_path / "out" / "f.flo", tmp_path / "out" / "f.png"
    result = CliRunner().invoke(tsf, [
        "flow", str(pair / "frame0.png"), str(pair / "frame1.png"), "--backend", "numpy",
        "-o", str(out), "--viz", str(viz), "--truth", str(pair / "truth.flo")])
    assert result.exit_code == 0, result.output
    flow = read_flo(out)
    assert flow.shape == (72, 96, 2)
    assert read_image(viz).shape == (72, 96, 3)
    record = json.loads((tmp_path / "out" / "f.flo.json").read_text())
    assert record["backend"] == "numpy" and record["params"]["warps"] == 5 and record["width"] == 96
    line = result.output.strip()
    assert "96x72, tvl1/numpy" in line and "EPE" in line
    epe = float(line.split("EPE ")[1].split()[0])
    assert epe < 0.1


def test_quiet_prints_nothing(tmp_path):
    pair = write_pair(tmp_path, width=48, height=40)
    result = CliRunner().invoke(tsf, ["flow", str(pair / "frame0.png"), str(pair / "frame1.png"),
                                      "--backend", "opencv", "--preset", "opencv-cuda", "--quiet"])
    assert result.exit_code == 0 and result.output == ""


def test_subprocess_missing_file_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "cli.main", "flow", str(tmp_path / "nope.png"),
                           str(tmp_path / "nope2.png")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "nope.png" in proc.stderr and "does not exist" in proc.stderr


def test_unreadable_image_exits_2_with_one_line(tmp_path):
    pair = write_pair(tmp_path, width=48, height=40)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png at all")
    result = CliRunner().invoke(tsf, ["flow", str(pair / "frame0.png"), str(bad)])
    assert result.exit_code == 2
    assert f"{bad}: not a decodable image" in result.output


def test_size_mismatch_exits_2(tmp_path):
    small, big = write_pair(tmp_path / "a", 48, 40), write_pair(tmp_path / "b", 64, 40)
    result = CliRunner().invoke(tsf, ["flow", str(small / "frame0.png"), str(big / "frame1.png")])
    assert result.exit_code == 2 and "64x40" in result.output and "48x40" in result.output


def test_library_error_exits_1(tmp_path):
    pair = write_pair(tmp_path, width=48, height=40)
    bad_truth = tmp_path / "t.flo"
    bad_truth.write_bytes(b"garbage-garbage")
    result = CliRunner().invoke(tsf, ["flow", str(pair / "frame0.png"), str(pair / "frame1.png"),
                                      "--truth", str(bad_truth)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"Error: {bad_truth}: not a valid .flo file: magic number "
                                                  f"{np.frombuffer(b'garb', np.float32)[0]!r}, expected 202021.25"]


def test_brox_records_its_parameters(tmp_path):
    pair = write_pair(tmp_path / "pair", width=96, height=72)
    out = tmp_path / "b.flo"
    result = CliRunner().invoke(tsf, ["flow", str(pair / "frame0.png"), str(pair / "frame1.png"),
                                      "--method", "brox", "-o", str(out), "--truth", str(pair / "truth.flo")])
    assert result.exit_code == 0, result.output
    assert "96x72, brox/" in result.output and float(result.output.split("EPE ")[1].split()[0]) < 0.1
    record = json.loads((tmp_path / "b.flo.json").read_text())
    assert record["method"] == "brox" and record["preset"] == "denseflow"
    assert record["backend"] in ("numpy", "cupy") and record["params"]["outer_iterations"] == 77


def test_preset_that_does_not_fit_the_method_exits_2(tmp_path):
    pair = write_pair(tmp_path, width=48, height=40)
    result = CliRunner().invoke(tsf, ["flow", str(pair / "frame0.png"), str(pair / "frame1.png"),
                                      "--method", "brox", "--preset", "opencv"])
    assert result.exit_code == 2 and "did you mean opencv-cuda" in result.output


def test_brox_on_opencv_exits_1(tmp_path):
    pair = write_pair(tmp_path, width=48, height=40)
    result = CliRunner().invoke(tsf, ["flow", str(pair / "frame0.png"), str(pair / "frame1.png"),
                                      "--method", "brox", "--backend", "opencv"])
    assert result.exit_code == 1 and "OpenCV has no CPU Brox" in result.output


def test_empty_image_exits_2_with_one_line(tmp_path):
    pair = write_pair(tmp_path, width=48, height=40)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")  # OpenCV asserts on an empty buffer rather than returning None
    proc = subprocess.run([sys.executable, "-m", "cli.main", "flow", str(empty), str(pair / "frame1.png")],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert f"Error: Invalid value for IMG0: {empty}: not a decodable image" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_outputs_follow_the_umask(tmp_path):
    pair = write_pair(tmp_path / "pair", width=48, height=40)
    out = tmp_path / "out"
    old = os.umask(0o027)
    try:
        result = CliRunner().invoke(tsf, ["flow", str(pair / "frame0.png"), str(pair / "frame1.png"), "--backend",
                                          "numpy", "-o", str(out / "f.flo"), "--viz", str(out / "f.png"), "--quiet"])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in out.iterdir()}
    assert modes == {"f.flo": "0o640", "f.flo.json": "0o640", "f.png": "0o640"}
