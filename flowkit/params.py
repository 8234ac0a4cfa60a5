"""Parameters of the flow methods, as frozen dataclasses that serialise to JSON."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, ClassVar

from .config import JsonConfig
from .errors import FlowError

__all__ = [
    "BROX_PRESETS",
    "DEFAULT_PRESETS",
    "TVL1_PRESETS",
    "BroxParams",
    "TVL1Params",
    "brox_params",
    "tvl1_params",
]


DEFAULT_PRESETS: dict[str, str] = {"tvl1": "opencv", "brox": "denseflow"}  # what None resolves to


@dataclass(frozen=True)
class TVL1Params(JsonConfig):
    """TV-L1 settings; the defaults are those of OpenCV's ``DualTVL1OpticalFlow``.

    Symbols follow Sánchez, Meinhardt-Llopis and Facciolo, "TV-L1 Optical Flow Estimation",
    IPOL 2013, whose scheme OpenCV's ``tvl1flow.cpp`` implements.
    """

    config_error: ClassVar[type[Exception]] = FlowError

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
    # pyramid level (0: the frame) solved a second time from zero flow, each pixel keeping the
    # start that fits the frames better (see flowkit.solvers.tvl1.merge_starts); None: off, as OpenCV
    restart_level: int | None = None
    restart_gate: float = 10.0  # px at the frame's scale: farther apart, the restarted start is not kept

    def __post_init__(self) -> None:
        positive = ("tau", "lambda_", "theta", "epsilon", "restart_gate")
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
        level = self.restart_level
        if level is not None and (not isinstance(level, int) or isinstance(level, bool) or level < 0):
            raise FlowError(f"TVL1Params.restart_level must be None (off) or an integer >= 0, got {level!r}")


TVL1_PRESETS: dict[str, TVL1Params] = {
    # OpenCV's CPU DualTVL1OpticalFlow defaults.
    "opencv": TVL1Params(),
    # OpenCV's CUDA OpticalFlowDual_TVL1 defaults (300 iterations, no median filter), which
    # denseflow and dense_flow used for most published two-stream flows.
    "opencv-cuda": TVL1Params(inner_iterations=1, outer_iterations=300, median_filtering=1),
    # More accurate than OpenCV's and scikit-image's defaults on the shared ground truth (mean
    # end-point error 1.94 px against 4.86 and 2.52) and faster than OpenCV's: a pyramid halved
    # down to 16 px, more warpings, fewer iterations, and a restart of the half-size level
    # (flowkit.solvers.tvl1.merge_starts); each choice's measurements are in docs/flow.md.
    "accurate": TVL1Params(lambda_=0.15, theta=0.5, scales=32, scale_step=0.5, warps=10,
                           inner_iterations=10, outer_iterations=3, epsilon=0.02, restart_level=1,
                           restart_gate=10.0),
}


def tvl1_params(preset: str | TVL1Params | None = None) -> TVL1Params:
    """Parameters from a preset name, a :class:`TVL1Params`, or ``None`` (OpenCV defaults).

    Raises:
        FlowError: unknown preset name (the message lists close matches).
    """
    return _resolve(preset, TVL1Params, TVL1_PRESETS, DEFAULT_PRESETS["tvl1"], "TV-L1")


@dataclass(frozen=True)
class BroxParams(JsonConfig):
    """Brox et al. settings; the defaults are the call denseflow, dense_flow and gpu_flow make to
    OpenCV's CUDA ``BroxOpticalFlow`` (alpha 0.197, gamma 50, scale 0.8, 10, 77, 10).

    Symbols follow Brox, Bruhn, Papenberg and Weickert, "High accuracy optical flow estimation
    based on a theory for warping", ECCV 2004, which minimises
    ``E(w) = ∫ Psi(|I(x + w) - I(x)|^2 + gamma |∇I(x + w) - ∇I(x)|^2) + alpha Psi(|∇u|^2 + |∇v|^2)``
    with ``Psi(s^2) = sqrt(s^2 + eps^2)``, on frames scaled to [0, 1].
    """

    config_error: ClassVar[type[Exception]] = FlowError

    alpha: float = 0.197  # alpha: weight of the smoothness term against the data term
    gamma: float = 50.0  # gamma: weight of gradient constancy against brightness constancy
    scale_factor: float = 0.8  # eta: size ratio between two pyramid levels
    inner_iterations: int = 10  # lagged-nonlinearity fixed-point iterations per level (paper's inner loop)
    outer_iterations: int = 77  # most pyramid levels, one warping each (the outer fixed point)
    solver_iterations: int = 10  # red-black SOR sweeps per inner iteration
    sigma: float = 0.8  # sigma: Gaussian pre-smoothing of the frames in px (0: off, as OpenCV's CUDA code)
    omega: float = 1.9  # SOR relaxation (OpenCV hard-codes 1.99, see BROX_PRESETS; 1 is Gauss-Seidel)
    eps: float = 0.001  # epsilon of the Charbonnier penalty Psi (OpenCV: eps^2 = 1e-6)
    tolerance: float = 0.0  # a pair leaves a level once an inner iteration moves (du, dv) by <= this RMS px

    def __post_init__(self) -> None:
        for name in ("alpha", "eps"):
            if not getattr(self, name) > 0:
                raise FlowError(f"BroxParams.{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("gamma", "sigma", "tolerance"):
            if not getattr(self, name) >= 0:
                raise FlowError(f"BroxParams.{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0 < self.scale_factor < 1:
            raise FlowError(f"BroxParams.scale_factor must be in (0, 1), got {self.scale_factor!r}")
        if not 0 < self.omega < 2:
            raise FlowError(f"BroxParams.omega must be in (0, 2), got {self.omega!r}")
        for name in ("inner_iterations", "outer_iterations", "solver_iterations"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise FlowError(f"BroxParams.{name} must be an integer >= 1, got {value!r}")


BROX_PRESETS: dict[str, BroxParams] = {
    # BroxOpticalFlow::create(0.197f, 50.0f, 0.8f, 10, 77, 10), as denseflow, dense_flow and
    # gpu_flow call it for the published Brox flows; with the paper's pre-smoothing, and SOR relaxed
    # by 1.9 rather than 1.99: the same end-point error, 100x less sensitive to input noise
    # (measurements in docs/flow.md).
    "denseflow": BroxParams(),
    # OpenCV's CUDA BroxOpticalFlow::create() defaults, run as OpenCV runs them (no
    # pre-smoothing, SOR relaxation 1.99).
    "opencv-cuda": BroxParams(inner_iterations=5, outer_iterations=150, sigma=0.0, omega=1.99),
}


def brox_params(preset: str | BroxParams | None = None) -> BroxParams:
    """Parameters from a preset name, a :class:`BroxParams`, or ``None`` (the ``denseflow`` call).

    Raises:
        FlowError: unknown preset name (the message lists close matches).
    """
    return _resolve(preset, BroxParams, BROX_PRESETS, DEFAULT_PRESETS["brox"], "Brox")


def _resolve(preset: Any, kind: type, table: dict[str, Any], default: str, label: str) -> Any:
    """``preset`` resolved against one method's preset table."""
    if preset is None:
        return table[default]
    if isinstance(preset, kind):
        return preset
    if isinstance(preset, str):
        if preset in table:
            return table[preset]
        close = difflib.get_close_matches(preset, table, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise FlowError(f"unknown {label} preset {preset!r}{hint} (presets: {', '.join(table)})")
    raise FlowError(
        f"params must be a {kind.__name__}, a preset name or None, got {type(preset).__name__}"
    )
