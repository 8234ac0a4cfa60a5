"""Brox et al. through ``compute_flow``: accuracy on generated pairs, batching, backends, parameters."""

import json

import numpy as np
import pytest
from helpers.pairs import make_pair

import flowkit.solvers.brox
from flowkit import (
    BROX_PRESETS,
    BroxParams,
    FlowError,
    TVL1Params,
    brox_params,
    compute_flow,
    cuda_status,
    endpoint_error,
    flow_backend,
    flow_params,
)
from flowkit.solvers.brox import pyramid_sizes
from flowkit.solvers.imgops import remap_cubic_xp
from flowkit.datasets.known_flow import layered_pair

MARGIN = 8  # px left out at the borders, where part of the motion leaves the frame


def brox(prev, nxt, **kwargs):
    return compute_flow(prev, nxt, method="brox", backend="numpy", **kwargs)


def interior_epe(flow, truth):
    m = MARGIN
    return endpoint_error(flow[m:-m, m:-m], truth[m:-m, m:-m])


@pytest.mark.parametrize("shift", [(1.5, -0.75), (-3.0, 2.0), (0.25, 0.5)])
def test_recovers_a_translation(shift):
    prev, nxt, truth = make_pair(shift=shift)
    flow = brox(prev, nxt)
    assert flow.shape == (64, 80, 2) and flow.dtype == np.float32
    assert interior_epe(flow, truth) < 0.05
    assert endpoint_error(flow, truth) < 0.1  # the border, where the data term is off, too


def test_zero_motion_gives_zero_flow():
    still, _, _ = make_pair(seed=2)
    flow = brox(still, still)
    assert flow.shape == (64, 80, 2) and not flow.any()


def test_recovers_a_smooth_flow():
    prev, nxt, truth = make_pair(seed=3, max_px=3.0)
    assert interior_epe(brox(prev, nxt), truth) < 0.1


def test_moving_foreground_layer():
    prev, nxt, truth = layered_pair(96, 128, seed=1, max_px=2.0, shift=(3.0, -2.0))
    assert endpoint_error(brox(prev, nxt), truth) < 0.2


@pytest.mark.parametrize("tolerance", [0.0, 0.01])
def test_batch_equals_single_calls(tolerance):
    params = BroxParams(tolerance=tolerance)
    pairs = [make_pair(seed=s, max_px=m) for s, m in ((10, 1.0), (11, 4.0), (12, 2.5))]
    still, _, _ = make_pair(seed=13)
    prevs = np.stack([p[0] for p in pairs] + [still])
    nexts = np.stack([p[1] for p in pairs] + [still])  # the last pair leaves each level at once
    batch = brox(prevs, nexts, params=params)
    assert batch.shape == (4, 64, 80, 2)
    for i in range(4):
        np.testing.assert_allclose(batch[i], brox(prevs[i], nexts[i], params=params), atol=1e-4)
    assert not batch[3].any()


def test_tolerance_stops_early_and_stays_close():
    prev, nxt, truth = make_pair(seed=14, max_px=2.0)
    exact, early = brox(prev, nxt), brox(prev, nxt, params=BroxParams(tolerance=0.01))
    assert np.abs(exact - early).mean() < 0.02
    assert interior_epe(early, truth) < 0.1


def test_array_module_warp_gives_the_same_flow(monkeypatch):
    # CuPy runs remap_cubic_xp where NumPy calls cv2.remap; swapped in here, it checks that path
    prev, nxt, _ = make_pair(96, 112, seed=4, max_px=4.0)
    host = brox(prev, nxt)
    monkeypatch.setattr(flowkit.solvers.brox, "remap_cubic", remap_cubic_xp)
    np.testing.assert_allclose(brox(prev, nxt), host, atol=1e-4)


def test_colour_and_float_inputs():
    prev, nxt, _ = make_pair(seed=7)
    gray = brox(prev, nxt)
    rgb = lambda a: np.repeat(a[..., None], 3, axis=2)
    np.testing.assert_array_equal(brox(rgb(prev), rgb(nxt)), gray)
    np.testing.assert_array_equal(brox(prev.astype(np.float64), nxt.astype(np.float64)), gray)


def test_opencv_backend_has_no_brox():
    prev, nxt, _ = make_pair()
    with pytest.raises(FlowError, match="OpenCV has no CPU Brox"):
        compute_flow(prev, nxt, method="brox", backend="opencv")


def test_auto_picks_cupy_or_numpy():
    expected = "cupy" if cuda_status() is None else "numpy"
    assert flow_backend("brox", "auto") == expected
    assert flow_backend("tvl1", "auto") == ("cupy" if cuda_status() is None else "opencv")
    if cuda_status() is not None:
        prev, nxt, _ = make_pair(seed=8)
        np.testing.assert_array_equal(compute_flow(prev, nxt, method="brox"), brox(prev, nxt))


def test_params_serialise_and_presets():
    params = BroxParams(alpha=0.3, solver_iterations=5)
    assert BroxParams.from_dict(json.loads(json.dumps(params.to_dict()))) == params
    default = brox_params(None)
    assert default == BroxParams() == BROX_PRESETS["denseflow"]
    assert (default.alpha, default.gamma, default.scale_factor) == (0.197, 50.0, 0.8)
    assert (default.inner_iterations, default.outer_iterations, default.solver_iterations) == (10, 77, 10)
    cuda = brox_params("opencv-cuda")
    assert (cuda.inner_iterations, cuda.outer_iterations, cuda.sigma, cuda.omega) == (5, 150, 0.0, 1.99)
    with pytest.raises(FlowError, match="unknown BroxParams fields: beta"):
        BroxParams.from_dict({"beta": 1})


def test_flow_params_resolves_either_method():
    assert flow_params("brox") == BroxParams()
    assert flow_params("brox", "opencv-cuda") == BROX_PRESETS["opencv-cuda"]
    assert flow_params("tvl1") == TVL1Params()
    custom = BroxParams(gamma=10.0)
    assert flow_params("brox", custom) is custom


@pytest.mark.parametrize("method, params, message", [
    ("brox", "opencv", r"unknown Brox preset 'opencv'; did you mean opencv-cuda"),
    ("brox", "densflow", r"did you mean denseflow"),
    ("brox", TVL1Params(), r"must be a BroxParams, a preset name or None, got TVL1Params"),
    ("tvl1", BroxParams(), r"must be a TVL1Params, a preset name or None, got BroxParams"),
    ("tvl1", "denseflow", r"unknown TV-L1 preset 'denseflow'"),
    ("horn", None, r"unknown flow method 'horn'; choose one of tvl1, brox"),
])
def test_params_that_do_not_fit_the_method(method, params, message):
    with pytest.raises(FlowError, match=message):
        flow_params(method, params)


@pytest.mark.parametrize("field, value", [("alpha", 0), ("gamma", -1.0), ("scale_factor", 1.0),
                                          ("inner_iterations", 0), ("outer_iterations", 2.5),
                                          ("solver_iterations", 0), ("omega", 2.0), ("sigma", -0.5),
                                          ("eps", 0.0), ("tolerance", -1.0)])
def test_bad_params(field, value):
    with pytest.raises(FlowError, match=f"BroxParams.{field}"):
        BroxParams(**{field: value})


def test_small_frames_name_the_method():
    with pytest.raises(FlowError, match=r"40x8 pixels; Brox needs at least 16x16"):
        brox(np.zeros((8, 40)), np.zeros((8, 40)))


def test_pyramid_follows_opencv():
    sizes = pyramid_sizes(256, 340, BroxParams())
    assert sizes[:3] == [(256, 340), (205, 272), (164, 218)]
    assert min(sizes[-2]) > 15 >= min(sizes[-1])  # OpenCV stops after the first level of 15 px or less
    assert len(pyramid_sizes(256, 340, BroxParams(outer_iterations=3))) == 3
