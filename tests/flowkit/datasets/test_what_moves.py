"""The synthetic "what moves where" dataset: layout, split files, groups, colours, randomness."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers.cli import tsf

from flowkit import SYNTH_CLASSES, SYNTH_COLOURS, Resize, SynthConfig, SynthError, VideoReader, synth_video
from fusionnet import load_split

SMALL = SynthConfig(videos_per_class=12, size=(48, 32), frames=10, seed=5)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "set"
    result = tsf("synth", out, "--videos-per-class", "12", "--size", "48x32", "--frames", "10", "--seed", "5")
    assert result.returncode == 0, result.stderr
    assert "120 videos (80 train, 40 test)" in result.stderr
    return out


def test_layout_and_videos(written: Path) -> None:
    videos = sorted(p.relative_to(written / "videos").as_posix() for p in (written / "videos").rglob("*.avi"))
    assert len(videos) == 12 * len(SYNTH_CLASSES)
    assert "MotionUp/v_MotionUp_g02_c04.avi" in videos
    with VideoReader(written / "videos/WhoMovesRedUp/v_WhoMovesRedUp_g01_c01.avi", Resize(None)) as video:
        frames = list(video)
    assert len(frames) == 10 and frames[0].shape == (32, 48, 3)
    record = json.loads((written / "synth.json").read_text())
    assert record["classes"] == SYNTH_CLASSES and SynthConfig(**record["config"]) == SMALL


def test_split_files_in_ucf101_format(written: Path) -> None:
    splits = written / "splits"
    assert (splits / "classInd.txt").read_text().splitlines()[:2] == ["1 WhoMovesRedUp", "2 WhoMovesRedDown"]
    assert "MotionDown/v_MotionDown_g02_c01.avi 10" in (splits / "trainlist01.txt").read_text().splitlines()
    assert (splits / "testlist01.txt").read_text().splitlines()[0] == "WhoMovesRedUp/v_WhoMovesRedUp_g01_c01.avi"
    split = load_split("ucf101", splits, 1)
    assert split.classes == tuple(SYNTH_CLASSES)
    assert len(split.train) == 80 and len(split.test) == 40
    assert ("ColourRed/v_ColourRed_g02_c03", 6) in split.train


def test_groups_stay_on_one_side(written: Path) -> None:
    split = load_split("ucf101", written / "splits", 1)
    group = lambda vid: vid.rsplit("_", 2)[0] + vid.rsplit("_", 2)[1]
    assert not {group(v) for v, _ in split.train} & {group(v) for v, _ in split.test}


def test_who_moves_colours_have_one_gray_level() -> None:
    colours = np.uint8([[SYNTH_COLOURS[c] for c in ("red", "green", "gray", "blue")]])
    gray = cv2.cvtColor(colours, cv2.COLOR_RGB2GRAY)[0]
    assert gray[0] == gray[1]  # the who-moves pair: the flow cannot tell them apart
    assert np.ptp(gray.astype(int)) <= 1
    luma = colours[0].astype(float) @ [0.299, 0.587, 0.114]
    assert abs(luma[0] - luma[1]) < 0.1


def test_who_moves_frames_show_both_colours_and_one_mover() -> None:
    video = synth_video("WhoMovesGreenDown", SMALL, 1, 1).astype(int)
    for name, moves in (("green", True), ("red", False)):
        mask = (np.abs(video - SYNTH_COLOURS[name]).sum(axis=3) < 30)  # (T, H, W) where the colour is
        assert mask.any(axis=(1, 2)).all(), name
        rows = [np.nonzero(m.any(axis=1))[0].mean() for m in mask]
        assert (rows[-1] - rows[0] > 3) == moves, (name, rows[0], rows[-1])


def test_each_video_is_drawn_anew_and_reproducibly() -> None:
    first = synth_video("OrderUpDown", SMALL, 1, 1)
    assert np.array_equal(first, synth_video("OrderUpDown", SMALL, 1, 1))
    assert not np.array_equal(first, synth_video("OrderUpDown", SMALL, 1, 2))
    assert not np.array_equal(first, synth_video("OrderUpDown", SynthConfig(**{**SMALL.to_dict(), "seed": 6}), 1, 1))
    # a group shares its background; another group has another
    corner = lambda v: v[0, :4, :4]
    assert not np.array_equal(corner(first), corner(synth_video("OrderUpDown", SMALL, 2, 1)))


def test_errors() -> None:
    with pytest.raises(SynthError, match="unknown class 'Jump'"):
        synth_video("Jump", SMALL, 1, 1)
    with pytest.raises(SynthError, match="even and at least 32x32"):
        SynthConfig(size=(63, 64))
    with pytest.raises(SynthError, match="videos_per_class must be at least 8"):
        SynthConfig(videos_per_class=5)


def test_cli_usage_error(tmp_path: Path) -> None:
    result = tsf("synth", tmp_path / "x", "--size", "64")
    assert result.returncode == 2 and "is not WxH" in result.stderr
    result = tsf("synth", tmp_path / "x", "--frames", "4")
    assert result.returncode == 2 and "frames must be at least 8" in result.stderr
