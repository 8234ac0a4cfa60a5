"""Finding videos, reading lists, resizing and decoding with PyAV (real files written by the tests)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from helpers.videos import resolution_change

from flowkit import (
    Resize,
    VideoError,
    VideoListError,
    VideoReader,
    find_videos,
    read_video_list,
)
from flowkit.datasets.known_flow import moving_frames, write_video


def test_find_videos_recursive_any_case_sorted(tmp_path: Path) -> None:
    for name in ("b/Clip2.MP4", "a/clip1.avi", "a/deep/x.MkV", "notes.txt", "a/cover.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    os.symlink(tmp_path / "nowhere.avi", tmp_path / "broken.avi")
    entries = find_videos(tmp_path)
    assert [e.id for e in entries] == ["a/clip1", "a/deep/x", "b/Clip2", "broken"]
    assert entries[0].path == tmp_path / "a/clip1.avi"


def test_find_videos_refuses_duplicate_ids_and_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "v.avi").write_bytes(b"")
    (tmp_path / "v.mp4").write_bytes(b"")
    with pytest.raises(VideoListError, match="same id 'v'"):
        find_videos(tmp_path)
    with pytest.raises(VideoListError, match="not a folder"):
        find_videos(tmp_path / "missing")


def test_read_video_list_labels_comments_and_escapes(tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("# UCF101 style\nApplyEyeMakeup/v_a_g01_c01.avi 1\n\nb/c.mp4\n")
    entries = read_video_list(tmp_path, listing)
    assert [(e.id, e.path) for e in entries] == [
        ("ApplyEyeMakeup/v_a_g01_c01", tmp_path / "ApplyEyeMakeup/v_a_g01_c01.avi"),
        ("b/c", tmp_path / "b/c.mp4"),
    ]
    for bad, message in (("../up.avi", "escape"), ("/abs/v.avi", "absolute"), ("a/../../v.avi", "escape")):
        listing.write_text(bad + "\n")
        with pytest.raises(VideoListError, match=message):
            read_video_list(tmp_path, listing)
    listing.write_text("a.avi\na.mp4\n")
    with pytest.raises(VideoListError, match="repeats the id 'a'"):
        read_video_list(tmp_path, listing)


@pytest.mark.parametrize(
    ("resize", "source", "expected"),
    [
        (Resize(), (320, 240), (340, 256)),
        (Resize(), (426, 240), (454, 256)),
        (Resize(), (240, 320), (256, 340)),
        (Resize(), (1920, 1080), (454, 256)),
        (Resize(short_side=None, size=(171, 128)), (320, 240), (171, 128)),
        (Resize(short_side=None), (320, 240), (320, 240)),
    ],
)
def test_resize_target(resize: Resize, source: tuple[int, int], expected: tuple[int, int]) -> None:
    assert resize.target(*source) == expected


def test_resize_refuses_both_and_tiny() -> None:
    with pytest.raises(VideoListError):
        Resize(short_side=256, size=(340, 256))
    with pytest.raises(VideoListError):
        Resize(short_side=1)


def test_reader_counts_and_matches_the_encoded_frames(tmp_path: Path) -> None:
    frames = moving_frames(9, 48, 64)
    path = write_video(tmp_path / "v.avi", frames)
    with VideoReader(path, Resize(short_side=None)) as video:
        decoded = list(video)
    assert len(decoded) == 9
    assert decoded[0].shape == (48, 64, 3) and decoded[0].dtype == np.uint8
    # MPEG-4 at a high bit rate: close to the source pixels
    assert np.abs(decoded[4].astype(int) - frames[4]).mean() < 4
    assert video.info.fps == 25 and video.info.codec == "mpeg4"


def test_reader_resizes_and_applies_rotation(tmp_path: Path) -> None:
    frames = np.zeros((3, 48, 64, 3), np.uint8)
    frames[:, :16, :16] = 255  # a white block in the top-left corner
    path = write_video(tmp_path / "phone.mp4", frames, codec="libx264", rotation=90)
    with VideoReader(path, Resize(short_side=None)) as video:
        first = next(iter(video))
    # 90 degrees counter-clockwise: the frame turns portrait, the top-left corner goes bottom-left
    assert first.shape == (64, 48, 3)
    assert first[-8:, :8].mean() > 200 and first[:8, :8].mean() < 50
    assert video.rotation == 90 and video.source_size == (48, 64)
    with VideoReader(path, Resize(short_side=32)) as video:
        assert next(iter(video)).shape == (42, 32, 3)


@pytest.mark.parametrize(("resize", "size"), [(Resize(short_side=None), (48, 64)),
                                              (Resize(short_side=64), (64, 84)),
                                              (Resize(short_side=None, size=(40, 30)), (30, 40))])
def test_reader_keeps_the_first_frames_size_when_the_resolution_changes(
        tmp_path: Path, resize: Resize, size: tuple[int, int]) -> None:
    with VideoReader(resolution_change(tmp_path / "switch.mpg"), resize) as video:
        frames = list(video)
    assert len(frames) == 10
    assert {f.shape for f in frames} == {(*size, 3)}
    assert video.source_size == (64, 48)


def test_reader_errors_name_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(VideoError, match="junk.mp4: cannot open"):
        VideoReader(junk)
    with pytest.raises(VideoError, match="cannot open: No such file"):
        VideoReader(tmp_path / "missing.avi")


def test_reader_refuses_audio_only(tmp_path: Path) -> None:
    import av

    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        samples = np.zeros((1, 16000), np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with pytest.raises(VideoError, match="no video stream"):
        VideoReader(path)


def test_reader_stops_cleanly_when_abandoned(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.avi", moving_frames(40, 48, 64))
    with VideoReader(path, Resize(short_side=None), prefetch=2) as video:
        for i, _ in enumerate(video):
            if i == 3:
                break
    assert video._thread is None


def test_shared_videos_decode_every_frame(shared_data: Path) -> None:
    expected = {"demo.mp4": (280, (340, 256)), "test.avi": (164, (340, 256)),
                "part_0.mp4": (32, (340, 256)), "test_video_structuralize.mp4": (300, (454, 256))}
    for name, (count, size) in expected.items():
        shapes: list[tuple[int, ...]] = []
        with VideoReader(shared_data / "videos" / name) as video:
            shapes.extend(frame.shape for frame in video)
        assert len(shapes) == count, name
        shapes = set(shapes)
        assert shapes == {(size[1], size[0], 3)}, name
