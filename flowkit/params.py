"""Parameters of the flow methods, as frozen dataclasses that serialise to JSON."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any

from .errors import FlowError

__all__ = ["TVL1_PRESETS", "TVL1Params", "tvl1_params"]


@dataclass(frozen=True)
class TVL1Params:
    """TV-L1 settings; the defaults are those of OpenCV's ``DualTVL1OpticalFlow``.

    Symbols follow Sánchez, Meinhardt-Llopis and Facciolo, "TV-L1 Optical Flow Estimation",
    IPOL 2013, whose scheme OpenCV's ``tvl1flow.cpp`` implements.
    """

    tau: float = 0.25  # time step of the primal-dual scheme (stable for tau <= 0.25)
    lambda_: float = 0.15  # weight of the data term against the total variation
    theta: float = 0.3  # coupling between the flow u and its auxiliary variable v
    gamma: float = 0.0  # weight of the illumination term u3; 0 turns it off
    scales: int = 5  # pyramid levels (fewer when a level would drop below 16 px)
    scale_step: float = 0.8  # size ratio between two pyramid levels
    warps: int = 5  # warpings of the second frame per level
    epsilon: float = 0.01  # stop when the mean squared flow update is below epsilon**2
    inner_iterations: int = 30  # primal-dual steps between two median filterings
    outer_iterations: int = 10  # median filterings per warping
    median_filtering: int = 5  # median filter size (0 or 1: off; 3 or 5)

    def __post_init__(self) -> None:
        positive = ("tau", "lambda_", "theta", "epsilon")
        for name in positive:
            if not getattr(self, name) > 0:
                raise FlowError(f"TVL1Params.{name} must be > 0, got {getattr(self, name)!r}")
        if not self.gamma >= 0:
            raise FlowError(f"TVL1Params.gamma must be >= 0, got {self.gamma!r}")
        if not 0 < self.scale_step < 1:
            raise FlowError(f"TVL1Params.scale_step must be in (0, 1), got {self.scale_step!r}")
        for name in ("scales", "warps", "inner_iterations", "outer_iterations"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise FlowError(f"TVL1Params.{name} must be an integer >= 1, got {value!r}")
        if self.median_filtering not in (0, 1, 3, 5):
            raise FlowError(
                f"TVL1Params.median_filtering must be 0, 1 (off), 3 or 5, got {self.median_filtering!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; :meth:`from_dict` reverses it."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TVL1Params:
        """Build from :meth:`to_dict` output; unknown keys raise :class:`FlowError`."""
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise FlowError(f"unknown TVL1Params fields: {', '.join(sorted(unknown))}")
        return cls(**data)


TVL1_PRESETS: dict[str, TVL1Params] = {
    # OpenCV's CPU DualTVL1OpticalFlow defaults.
    "opencv": TVL1Params(),
    # OpenCV's CUDA OpticalFlowDual_TVL1 defaults (300 iterations, no median filter), which
    # denseflow and dense_flow used for most published two-stream flows.
    "opencv-cuda": TVL1Params(inner_iterations=1, outer_iterations=300, median_filtering=1),
}


def tvl1_params(preset: str | TVL1Params | None = None) -> TVL1Params:
    """Parameters from a preset name, a :class:`TVL1Params`, or ``None`` (OpenCV defaults).

    Raises:
        FlowError: unknown preset name (the message lists close matches).
    """
    if preset is None:
        return TVL1_PRESETS["opencv"]
    if isinstance(preset, TVL1Params):
        return preset
    if isinstance(preset, str):
        if preset in TVL1_PRESETS:
            return TVL1_PRESETS[preset]
        close = difflib.get_close_matches(preset, TVL1_PRESETS, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise FlowError(
            f"unknown TV-L1 preset {preset!r}{hint} (presets: {', '.join(TVL1_PRESETS)})"
        )
    raise FlowError(f"params must be a TVL1Params, a preset name or None, got {type(preset).__name__}")
