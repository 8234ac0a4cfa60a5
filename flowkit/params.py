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
    # start that fits the frames better (see flowkit.tvl1.merge_starts); None: off, as OpenCV
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
    # end-point error 1.94 px against 4.86 and 2.52), and faster than OpenCV's defaults; the
    # TV-L1 model is the same, the numerical choices differ. Each was measured on the nine
    # shared pairs (benchmarks/flow_accuracy.py; FlyingChairs 0-4, Sintel alley_1 and cave_2),
    # before the dual step took sqrt(gx^2 + gy^2) and one division instead of hypot and two: with
    # that rounding the preset's mean is 1.935 rather than 1.919 (README).
    # - scale_step 0.5 and a pyramid as deep as the 16 px minimum allows (scales=32 is never
    #   reached), so the depth follows the frame size: 5 levels at 340x256, the coarsest
    #   21x16. OpenCV's 5 levels at 0.8 end at 0.41 of the frame and lose motions beyond
    #   ~10 px: FlyingChairs 4 (25 px mean) 21.2 -> 2.6, Sintel cave_2 6.6 -> 1.7. Halving
    #   rather than 0.8 down to the same size: the same mean (2.06 and 2.05) at half the time.
    # - warps 10 (OpenCV: 5): mean 2.055 -> 2.020 (at lambda 0.1, theta 0.3).
    # - lambda 0.15 (OpenCV's), theta 0.5: the best of lambda 0.12, 0.15, 0.18 by theta 0.5,
    #   0.6, 0.7 (mean 1.95; theta 0.6: 1.98, 0.7: 2.04; lambda 0.12 and 0.18 lose
    #   FlyingChairs 0 to 3).
    # - 3 x 10 iterations per warping (OpenCV: up to 300): 5 x 10 gains 2% on FlyingChairs 1
    #   (1.25 -> 1.23) at 1.9x the time.
    # - epsilon 0.02 (OpenCV: 0.01): a third less time on Sintel, mean 1.948 -> 1.957.
    # - restart_level 1, restart_gate 10: the half-size level is solved a second time from zero
    #   flow, as a pyramid that stopped there would, and each pixel keeps that start where it
    #   fits the frames better and lies within 10 px (frame scale) of the deep start
    #   (flowkit.tvl1.merge_starts). Every pyramid deep enough for FlyingChairs 4 blurs the
    #   motion of FlyingChairs 1's textureless chair into the water between its legs (1.25
    #   against OpenCV's 1.17); the restart gives 1.15 there and a mean of 1.919 rather than
    #   1.958, at about 1.3x the time. Restarting at level 0 instead: mean 1.947 at 2x the
    #   time; at level 2: FlyingChairs 1 1.24. Gates of 6 and 16 px pass every pair (means
    #   1.933, 1.926); 4 px leaves FlyingChairs 1 at 1.21, 24 px and no gate lose FlyingChairs
    #   4 (3.44, 4.05), whose fresh start misses its 25 px motion yet fits some patches better.
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
    # gpu_flow call it for the published Brox flows; with the paper's pre-smoothing, and SOR
    # relaxed by 1.9 rather than 1.99: at 1.99 every error mode of the sweeps shrinks by only
    # 0.99 per sweep, so the flow still carries the solver's oscillation and moves by ~0.003 px
    # for 0.001 grey levels of input noise (and differs between CPU and GPU rounding); 1.9 gives
    # the same end-point error on the shared ground truth, 100x less sensitive.
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
