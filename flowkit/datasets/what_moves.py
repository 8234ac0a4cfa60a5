"""A synthetic "what moves where" dataset in UCF101's layout, built so that appearance alone and
motion alone are not enough (the claim of sec. 3.1-3.4 of the paper, shown on a CPU).

Class families (:data:`SYNTH_CLASSES` maps each class to its family):

- ``who-moves``: a red and a green object of equal gray level (:data:`SYNTH_COLOURS`) side by
  side; one moves up or down, the other stays. Class: the mover's colour x its direction. A
  frame shows both colours; the flow, computed on gray frames, shows a moving blob of no colour.
- ``order``: a blue object moves up then down, or down then up, turning at a random frame.
- ``colour`` (control, appearance only): one still red or green object.
- ``motion`` (control, motion only): the camera pans, so the whole frame (texture and a gray
  object) moves up or down: a flow field unlike any other class's, a frame like any other's.

All objects have the same gray level, so only the flow's geometry tells motion apart, and only
colour tells them apart in RGB. Motions are vertical because training flips clips horizontally
(a flip would turn "left" into "right" and keep the label). Positions, sizes, speeds, the turn,
shapes, textures and backgrounds are random per video (shape and background per group), so no
fixed pixel solves any class.

Videos are ``OUT/videos/<Class>/v_<Class>_gGG_cCC.avi``; ``OUT/splits`` holds ``classInd.txt``,
``trainlist01.txt`` and ``testlist01.txt`` in UCF101's formats, with whole groups in the test list
(as UCF101 keeps one actor's clips together); ``OUT/synth.json`` records the settings and families.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import SynthError
from .known_flow import texture, write_video

__all__ = [
    "SYNTH_CLASSES",
    "SYNTH_COLOURS",
    "SYNTH_FAMILIES",
    "SynthConfig",
    "SynthVideo",
    "synth_video",
    "write_synth_dataset",
]

SYNTH_FAMILIES = ("who-moves", "order", "colour", "motion")

# class name -> family, in classInd.txt order (label = position + 1)
SYNTH_CLASSES: dict[str, str] = {
    "WhoMovesRedUp": "who-moves",
    "WhoMovesRedDown": "who-moves",
    "WhoMovesGreenUp": "who-moves",
    "WhoMovesGreenDown": "who-moves",
    "OrderUpDown": "order",
    "OrderDownUp": "order",
    "ColourRed": "colour",
    "ColourGreen": "colour",
    "MotionUp": "motion",
    "MotionDown": "motion",
}

# RGB colours of gray level 108.3-109 under OpenCV's RGB2GRAY (0.299 R + 0.587 G + 0.114 B)
SYNTH_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (230, 60, 40),
    "green": (30, 162, 40),
    "gray": (109, 109, 109),
    "blue": (70, 112, 190),
}

_TEST_FRACTION = 0.3  # of the groups, first ones (UCF101's split 1 tests groups 1-7 of 25)
_GRAY = 108.6  # the objects' gray level: backgrounds keep clear of it for contrast


@dataclass(frozen=True)
class SynthConfig:
    """What ``tsf synth`` writes. Saved as ``OUT/synth.json``."""

    videos_per_class: int = 24  # clips of each class, train and test together
    size: tuple[int, int] = (64, 64)  # frame (width, height), even for yuv420p
    frames: int = 20  # frames per video
    seed: int = 0  # with class, group and clip, decides every random draw
    fps: int = 25
    clips_per_group: int = 4  # clips sharing a background and a shape, kept on one side of the split

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", tuple(self.size))  # JSON has no tuples
        width, height = self.size
        if width % 2 or height % 2 or min(width, height) < 32:
            raise SynthError(f"size must be even and at least 32x32, got {width}x{height}")
        if self.frames < 8:
            raise SynthError(f"frames must be at least 8 (the order classes turn in the middle third), "
                             f"got {self.frames}")
        if self.videos_per_class < 2 * self.clips_per_group:
            raise SynthError(f"videos_per_class must be at least {2 * self.clips_per_group} (two groups of "
                             f"{self.clips_per_group}: one to train, one to test), got {self.videos_per_class}")
        if self.clips_per_group < 1 or self.fps < 1:
            raise SynthError("clips_per_group and fps must be at least 1")

    @property
    def groups(self) -> int:
        """Groups per class (the last may hold fewer clips)."""
        return math.ceil(self.videos_per_class / self.clips_per_group)

    @property
    def test_groups(self) -> int:
        """The first this many groups of every class are the test split."""
        return min(self.groups - 1, max(1, round(_TEST_FRACTION * self.groups)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``SynthConfig(**d)`` reverses it."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class SynthVideo:
    """One written video: its UCF101-style path under ``videos/``, label and split."""

    path: str  # "<Class>/v_<Class>_gGG_cCC.avi"
    label: int  # 1-based, as classInd.txt
    group: int  # 1-based
    test: bool


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A gray texture, bright or dark, clear of the objects' gray level: ``(H, W)`` float32."""
    image = texture(height, width, seed=int(rng.integers(2**31))) / 255
    if rng.random() < 0.5:
        low, high = rng.uniform(_GRAY + 40, _GRAY + 65), rng.uniform(230, 255)
    else:
        low, high = rng.uniform(0, 15), rng.uniform(_GRAY - 60, _GRAY - 35)
    return (low + (high - low) * image).astype(np.float32)


def _coverage(shape: str, cx: float, cy: float, radius: float, height: int, width: int) -> np.ndarray:
    """Anti-aliased coverage ``(H, W)`` in 0..1 of a disc or square centred at sub-pixel ``(cx, cy)``."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if shape == "disc":
        return np.clip(radius + 0.5 - np.hypot(xs - cx, ys - cy), 0, 1)
    return np.clip(radius + 0.5 - np.abs(xs - cx), 0, 1) * np.clip(radius + 0.5 - np.abs(ys - cy), 0, 1)


def _path(rng: np.random.Generator, frames: int, height: int, radius: float,
          moves: tuple[int, ...]) -> np.ndarray:
    """Vertical centre positions ``(frames,)``: constant speed, one direction (-1 up, +1 down) per phase.

    Two phases turn at a random frame in the middle third; ``(0,)`` stays still. The start is
    drawn so the whole path stays inside the frame.
    """
    room = height - 2 * radius - 2
    if len(moves) == 2:
        turn = int(rng.integers(round(frames / 3), round(2 * frames / 3) + 1))
        steps = np.where(np.arange(1, frames) <= turn, moves[0], moves[1])
    else:
        steps = np.full(frames - 1, moves[0])
    offsets = np.concatenate(([0.0], np.cumsum(steps, dtype=np.float64)))
    extent = max(offsets.max() - offsets.min(), 1.0)
    speed = rng.uniform(0.8, 1.6) * height / 64 if moves != (0,) else 0.0
    speed = min(speed, room / extent)
    offsets *= speed
    low = radius + 1 - offsets.min()
    high = height - radius - 1 - offsets.max()
    return rng.uniform(low, high) + offsets


def _paint(scene: np.ndarray, coverage: np.ndarray, colour: str) -> None:
    """Blend ``colour`` into ``scene`` ``(H, W, 3)`` float32 in place by ``coverage``."""
    rgb = np.float32(SYNTH_COLOURS[colour])
    scene += coverage[..., None] * (rgb - scene)


def synth_video(name: str, config: SynthConfig, group: int, clip: int) -> np.ndarray:
    """The frames of clip ``clip`` of group ``group`` (both 1-based) of class ``name``.

    Returns:
        ``(frames, H, W, 3)`` uint8 RGB, a pure function of the arguments.

    Raises:
        SynthError: unknown class.
    """
    if name not in SYNTH_CLASSES:
        raise SynthError(f"unknown class {name!r}; classes: {', '.join(SYNTH_CLASSES)}")
    width, height = config.size
    label = list(SYNTH_CLASSES).index(name)
    family = SYNTH_CLASSES[name]
    # a pan needs a scene taller than the frame, by the longest travel (1.6 px a frame at 64 px)
    margin = math.ceil(1.6 * height / 64 * (config.frames - 1)) + 2 if family == "motion" else 0
    look = np.random.default_rng([config.seed, label, group])  # shared by the group's clips
    background = _background(look, height + margin, width)
    shape = ("disc", "square")[int(look.integers(2))]
    rng = np.random.default_rng([config.seed, label, group, clip])
    radius = rng.uniform(0.08, 0.12) * min(width, height)
    pan = np.zeros(config.frames)  # the frame's top row in the scene
    up_or_down = lambda: (-1,) if rng.random() < 0.5 else (1,)
    objects: list[tuple[str, float, np.ndarray]] = []  # colour, x centre, y per frame
    if family == "who-moves":
        mover = "red" if "Red" in name else "green"
        still = "green" if mover == "red" else "red"
        direction = (-1,) if name.endswith("Up") else (1,)
        # the still object sits where a mover would be at a random moment, so a frame's layout
        # says nothing about which one moves
        parked = _path(rng, config.frames, height, radius, up_or_down())[int(rng.integers(config.frames))]
        sides = [0.25 * width, 0.75 * width]
        rng.shuffle(sides)
        jitter = lambda: float(rng.uniform(-0.06, 0.06) * width)
        objects.append((mover, sides[0] + jitter(), _path(rng, config.frames, height, radius, direction)))
        objects.append((still, sides[1] + jitter(), np.full(config.frames, parked)))
    else:
        x = float(rng.uniform(radius + 1, width - radius - 1))
        if family == "order":
            moves = (-1, 1) if name == "OrderUpDown" else (1, -1)
            objects.append(("blue", x, _path(rng, config.frames, height, radius, moves)))
        elif family == "colour":
            objects.append((name.removeprefix("Colour").lower(), x,
                            _path(rng, config.frames, height, radius, (0,))))
        else:
            speed = rng.uniform(0.8, 1.6) * height / 64
            pan = speed * np.arange(config.frames)  # the view moves down the scene: the content moves up
            if name == "MotionDown":
                pan = pan[::-1]
            y = rng.uniform(pan.max() + radius + 1, pan.min() + height - radius - 1)  # in view throughout
            objects.append(("gray", x, np.full(config.frames, y)))
    video = np.empty((config.frames, height, width, 3), np.uint8)
    for t in range(config.frames):
        scene = np.repeat(background[..., None], 3, axis=2)
        for colour, x, ys in objects:
            _paint(scene, _coverage(shape, x, float(ys[t]), radius, height + margin, width), colour)
        if margin:
            view = np.float32([[1, 0, 0], [0, 1, pan[t]]])  # frame (x, y) shows scene (x, y + pan)
            scene = cv2.warpAffine(scene, view, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        video[t] = np.clip(np.rint(scene), 0, 255).astype(np.uint8)
    return video


def write_synth_dataset(out: str | os.PathLike, config: SynthConfig = SynthConfig()) -> list[SynthVideo]:
    """Write every video, the split files and ``synth.json`` under ``out``.

    Returns:
        The videos written, in class then group then clip order.

    Raises:
        OutputError, VideoError: a file cannot be written or encoded.
    """
    root = Path(out)
    videos: list[SynthVideo] = []
    for label, name in enumerate(SYNTH_CLASSES, 1):
        for index in range(config.videos_per_class):
            group, clip = divmod(index, config.clips_per_group)
            path = f"{name}/v_{name}_g{group + 1:02d}_c{clip + 1:02d}.avi"
            write_video(root / "videos" / path, synth_video(name, config, group + 1, clip + 1), fps=config.fps)
            videos.append(SynthVideo(path, label, group + 1, group < config.test_groups))
    splits = root / "splits"
    splits.mkdir(parents=True, exist_ok=True)
    (splits / "classInd.txt").write_text("".join(f"{i} {n}\n" for i, n in enumerate(SYNTH_CLASSES, 1)))
    (splits / "trainlist01.txt").write_text("".join(f"{v.path} {v.label}\n" for v in videos if not v.test))
    (splits / "testlist01.txt").write_text("".join(f"{v.path}\n" for v in videos if v.test))
    record = {"config": config.to_dict(), "classes": SYNTH_CLASSES, "families": list(SYNTH_FAMILIES),
              "colours": SYNTH_COLOURS, "videos": len(videos)}
    (root / "synth.json").write_text(json.dumps(record, indent=2) + "\n")
    return videos
