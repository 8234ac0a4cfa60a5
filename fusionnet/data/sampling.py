"""Which frames, crop and flip make a clip: the paper's sampling (sec. 3.5) and its test positions (sec. 4.6).

A clip is T snippets of one video: RGB frames t_1 < ... < t_T, ``stride`` apart, and for each the
L flows starting at it (``u_t, v_t, ..., u_{t+L-1}, v_{t+L-1}``). In training the start and the
stride tau are random (:func:`temporal_indices`); one crop (jittered width and height, placement,
:func:`crop_box`) and one horizontal flip are drawn per clip and applied to every frame of both
streams; a flip also mirrors the x flow (``255 - q`` on the quantised value, :func:`mirror`). In
testing, :func:`clip_positions` spreads clips evenly over the video. Both fit the clip into the
video with one rule, :func:`fit_clip`.

Where we differ from the paper's text, and why:

- the crop side is jittered around ``min(input_size, H, W)``, so frames smaller than the input
  still get jittered crops;
- a video too short for the drawn (or the test) stride gets the largest stride that fits (at
  least 1); one too short even for stride 1 repeats its last frames and flows (indices clamped),
  so test positions may coincide and nothing fails on short videos.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from flowkit.config import JsonConfig

from ..errors import ConfigError

__all__ = [
    "CROPS",
    "STREAMS",
    "ClipPlan",
    "SamplingConfig",
    "clip_positions",
    "crop_box",
    "fit_clip",
    "mirror",
    "temporal_indices",
]

STREAMS = ("rgb", "flow")
CROPS = ("jitter", "corners")


@dataclass(frozen=True)
class SamplingConfig(JsonConfig):
    """How clips are sampled, augmented and normalised (sec. 3.5)."""

    config_error: ClassVar[type[Exception]] = ConfigError

    streams: tuple[str, ...] = ("rgb", "flow")  # inputs a sample carries: ("rgb",), ("flow",) or both
    num_frames: int = 1  # T, snippets per clip
    flow_frames: int = 10  # L, consecutive flows per snippet: 2L channels u1, v1, u2, v2, ...
    stride: tuple[int, int] = (1, 10)  # tau range, inclusive: paper text [1, 10], released code 5..15
    input_size: int = 224  # S, side of the square network input
    crop: str = "jitter"  # "jitter": free placement; "corners": the 4 corners or the centre
    jitter: float = 0.25  # crop width and height each scaled by 1 + U(-jitter, jitter); border margin
    flip: bool = True  # horizontal flip with probability 0.5 (training only)
    rgb_mean: tuple[float, float, float] = (123.68, 116.779, 103.939)  # ImageNet mean, 0-255, (R, G, B)
    flow_mean: float = 128.0  # subtracted from quantised flow (the quantiser's zero)

    def __post_init__(self) -> None:
        # JSON has no tuples
        for name in ("streams", "stride", "rgb_mean"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        streams = set(self.streams)
        if not streams or not streams <= set(STREAMS) or len(streams) != len(self.streams):
            raise ConfigError(f"SamplingConfig.streams must be ('rgb',), ('flow',) or both, "
                              f"got {self.streams!r}")
        for name in ("num_frames", "flow_frames", "input_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"SamplingConfig.{name} must be an integer >= 1, got {value!r}")
        if len(self.stride) != 2 or not 1 <= self.stride[0] <= self.stride[1]:
            raise ConfigError(f"SamplingConfig.stride must be (low, high) with 1 <= low <= high, "
                              f"got {self.stride!r}")
        if self.crop not in CROPS:
            raise ConfigError(f"SamplingConfig.crop must be one of {', '.join(CROPS)}, got {self.crop!r}")
        if not 0 <= self.jitter < 1:
            raise ConfigError(f"SamplingConfig.jitter must be in [0, 1), got {self.jitter!r}")
        if len(self.rgb_mean) != 3:
            raise ConfigError(f"SamplingConfig.rgb_mean must be 3 values (R, G, B), got {self.rgb_mean!r}")


@dataclass(frozen=True)
class ClipPlan:
    """Everything random about one sample, drawn before any frame is read."""

    frames: np.ndarray  # (T,) 0-based RGB frame indices
    flows: np.ndarray  # (T, L) 0-based flow indices, one stack per frame
    box: tuple[int, int, int, int]  # crop (x, y, width, height) in frame pixels
    flip: bool  # mirror horizontally (and negate the x flow)


def fit_clip(num_frames: int, num_flows: int, config: SamplingConfig, stride: int) -> tuple[int, int]:
    """The stride a clip of ``config`` can take in a video, and the room left for its start.

    The clip must fit in the frames or, with flow, in the flows its last snippet needs. The stride
    shrinks (not below 1) when the video is too short for it; the room is the last start at
    which the clip fits (0 when it does not fit even so: its end is then clamped).

    Returns:
        ``(stride, room)``: starts ``0 .. room`` fit.
    """
    count, length = config.num_frames, config.flow_frames
    limit, tail = (num_flows, length) if "flow" in config.streams else (num_frames, 1)
    if count > 1:
        stride = max(1, min(stride, (limit - tail) // (count - 1)))
    return stride, max(limit - ((count - 1) * stride + tail), 0)


def _clips(starts: np.ndarray, stride: int, num_frames: int, num_flows: int,
           config: SamplingConfig) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``(*starts.shape, T)`` and flows ``(*starts.shape, T, L)`` of clips at ``starts``, clamped."""
    frames = starts[..., None] + stride * np.arange(config.num_frames)
    flows = frames[..., None] + np.arange(config.flow_frames)
    return np.clip(frames, 0, num_frames - 1), np.clip(flows, 0, max(num_flows - 1, 0))


def temporal_indices(num_frames: int, num_flows: int, config: SamplingConfig,
                     rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
    """The frame indices ``(T,)`` and flow stacks ``(T, L)`` of one clip.

    With ``rng`` (training), a random stride in ``config.stride`` and a random start; without
    (evaluation), the middle stride and the clip centred in the video. The stride shrinks (not
    below 1) when the video is too short for it; indices beyond either end are clamped.
    """
    low, high = config.stride
    stride = int(rng.integers(low, high + 1)) if rng is not None else (low + high) // 2
    stride, room = fit_clip(num_frames, num_flows, config, stride)
    start = int(rng.integers(0, room + 1)) if rng is not None else room // 2
    return _clips(np.array(start), stride, num_frames, num_flows, config)


def clip_positions(num_frames: int, num_flows: int, sampling: SamplingConfig, positions: int,
                   stride: int) -> tuple[np.ndarray, np.ndarray]:
    """The frames ``(P, T)`` and flow stacks ``(P, T, L)`` of the ``positions`` test clips of a video.

    Starts are spread evenly from the first to the last start at which the clip fits (rounded);
    with one position the clip is centred. A video too short for ``stride`` gets the largest
    stride that fits (at least 1); indices beyond its end are clamped to the last frame and flow.

    Example:
        >>> frames, _ = clip_positions(100, 99, SamplingConfig(streams=("rgb",)), 3, 5)
        >>> frames[:, 0].tolist()
        [0, 50, 99]
    """
    stride, room = fit_clip(num_frames, num_flows, sampling, stride)
    starts = np.array([room // 2]) if positions == 1 else np.rint(np.linspace(0, room, positions)).astype(int)
    return _clips(starts, stride, num_frames, num_flows, sampling)


def crop_box(height: int, width: int, config: SamplingConfig,
             rng: np.random.Generator | None) -> tuple[int, int, int, int]:
    """The crop ``(x, y, w, h)`` of one clip in a ``height x width`` frame.

    Training (``rng`` given): width and height each ``min(S, H, W) * (1 + U(-jitter, jitter))``
    (independently, so the aspect may change), clipped to the frame; with ``crop="jitter"`` the
    crop lies at most ``jitter * W`` (``jitter * H``) from the nearest left/right (top/bottom)
    border, with ``"corners"`` at one of the 4 corners or the centre. Evaluation: the centred
    square of side ``min(H, W)``.
    """
    if rng is None:
        side = min(height, width)
        return (width - side) // 2, (height - side) // 2, side, side
    base = min(config.input_size, height, width)
    w, h = (int(np.clip(round(base * (1 + rng.uniform(-config.jitter, config.jitter))), 1, size))
            for size in (width, height))
    if config.crop == "corners":
        x, y = [(0, 0), (width - w, 0), (0, height - h), (width - w, height - h),
                ((width - w) // 2, (height - h) // 2)][int(rng.integers(5))]
        return x, y, w, h
    x = _offset(width - w, config.jitter * width, rng)
    return x, _offset(height - h, config.jitter * height, rng), w, h


def _offset(room: int, margin: float, rng: np.random.Generator) -> int:
    # offsets whose gap to the nearer border is within the margin, drawn uniformly
    offsets = np.arange(room + 1)
    return int(rng.choice(offsets[(offsets <= margin) | (room - offsets <= margin)]))


def mirror(frames: np.ndarray, x_flow: bool = False) -> np.ndarray:
    """``(n, H, W, C)`` uint8 frames flipped left-right; with ``x_flow``, channel 0 also becomes ``255 - q``.

    A mirrored motion has its horizontal component negated, which on the quantised scale is
    ``255 - q`` about the quantiser's zero. Training clips (:class:`fusionnet.ClipDataset`) and
    the flipped test views (:class:`fusionnet.EvalDataset`) both flip with it.
    """
    out = np.ascontiguousarray(frames[:, :, ::-1])
    if x_flow:
        out[..., 0] = 255 - out[..., 0]
    return out
