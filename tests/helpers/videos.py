"""Real videos for the tests: written with PyAV, as folders of classes, and read back as trees."""

from __future__ import annotations

from pathlib import Path

from flowkit.datasets.known_flow import moving_frames, write_video

__all__ = ["FAST", "make_source", "resolution_change", "tree"]

FAST = ["--short-side", "64", "--backend", "opencv", "--quiet"]  # tsf extract-flow, small and quick


def make_source(root: Path, counts: dict[str, int], size: tuple[int, int] = (48, 64)) -> Path:
    """A folder of real videos: ``{"Class/v_name.avi": frame count}``, each a drifting texture."""
    for i, (name, count) in enumerate(counts.items()):
        codec = "libx264" if name.endswith((".mp4", ".mkv")) else "mpeg4"
        write_video(root / name, moving_frames(count, *size, seed=i), codec=codec)
    return root


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def resolution_change(path: Path) -> Path:
    """A real stream whose resolution changes part-way: two H.264 transport streams of 64x48 and
    96x64 (5 frames each) joined end to end, as concatenated and adaptive streams are."""
    first = write_video(path.with_suffix(".1.ts"), moving_frames(5, 48, 64), codec="libx264")
    second = write_video(path.with_suffix(".2.ts"), moving_frames(5, 64, 96, seed=1), codec="libx264")
    path.write_bytes(first.read_bytes() + second.read_bytes())
    first.unlink()
    second.unlink()
    return path
