"""TV-L1 through ``compute_flow``: accuracy on generated pairs, agreement with OpenCV, batching, errors."""

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
from helpers.pairs import make_pair

from flowkit import (
    TVL1_PRESETS,
    FlowError,
    TVL1Params,
    compute_flow,
    cuda_status,
    endpoint_error,
    tvl1_params,
)
from flowkit.solvers.tvl1 import coarse_to_fine, merge_starts

MARGIN = 8  # px left out at the borders, where part of the motion leaves the frame


def interior_epe(flow, truth):
    m = MARGIN
    return endpoint_error(flow[m:-m, m:-m], truth[m:-m, m:-m])


def test_opencv_backend_returns_what_cv2_returns():
    prev, nxt, _ = make_pair(seed=1)
    ours = compute_flow(prev, nxt, backend="opencv")
    ref = cv2.optflow.DualTVL1OpticalFlow_create().calc(prev, nxt, None)
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("shift", [(1.5, -0.75), (-3.0, 2.0)])
def test_numpy_recovers_a_translation(shift):
    prev, nxt, truth = make_pair(shift=shift)
    flow = compute_flow(prev, nxt, backend="numpy")
    assert flow.shape == (64, 80, 2) and flow.dtype == np.float32
    assert interior_epe(flow, truth) < 0.1


def test_numpy_recovers_a_smooth_flow():
    prev, nxt, truth = make_pair(seed=3, max_px=3.0)
    assert interior_epe(compute_flow(prev, nxt, backend="numpy"), truth) < 0.15


@pytest.mark.parametrize("preset", sorted(TVL1_PRESETS))
def test_numpy_follows_opencv(preset):
    prev, nxt, truth = make_pair(96, 112, seed=4, max_px=4.0)
    ours = compute_flow(prev, nxt, backend="numpy", params=preset)
    ref = compute_flow(prev, nxt, backend="opencv", params=preset)
    assert np.abs(ours - ref).mean() < 0.02
    assert interior_epe(ours, truth) == pytest.approx(interior_epe(ref, truth), rel=0.03, abs=0.005)


def test_numpy_follows_opencv_with_illumination_term():
    prev, nxt, truth = make_pair(seed=5, shift=(1.0, 0.5))
    brighter = np.clip(nxt.astype(np.float32) * 1.1 + 8, 0, 255).astype(np.uint8)
    params = TVL1Params(gamma=0.2)
    ours = compute_flow(prev, brighter, backend="numpy", params=params)
    ref = compute_flow(prev, brighter, backend="opencv", params=params)
    assert interior_epe(ours, truth) == pytest.approx(interior_epe(ref, truth), rel=0.03)
    # the illumination term is what copes with the brightness change
    plain = compute_flow(prev, brighter, backend="numpy")
    assert interior_epe(ours, truth) < 0.8 * interior_epe(plain, truth)


def test_batch_equals_single_calls():
    pairs = [make_pair(seed=s, max_px=m) for s, m in ((10, 1.0), (11, 4.0), (12, 2.5))]
    still, _, _ = make_pair(seed=13)
    prevs = np.stack([p[0] for p in pairs] + [still])
    nexts = np.stack([p[1] for p in pairs] + [still])  # the last pair converges at once
    batch = compute_flow(prevs, nexts, backend="numpy")
    assert batch.shape == (4, 64, 80, 2)
    for i in range(4):
        single = compute_flow(prevs[i], nexts[i], backend="numpy")
        np.testing.assert_allclose(batch[i], single, atol=1e-4)
    assert not batch[3].any()


def test_opencv_backend_batches_too():
    prev, nxt, _ = make_pair(seed=6)
    batch = compute_flow(np.stack([prev, nxt]), np.stack([nxt, prev]), backend="opencv")
    np.testing.assert_array_equal(batch[0], compute_flow(prev, nxt, backend="opencv"))


def test_colour_and_float_inputs():
    prev, nxt, _ = make_pair(seed=7)
    gray = compute_flow(prev, nxt, backend="numpy")
    rgb = lambda a: np.repeat(a[..., None], 3, axis=2)
    np.testing.assert_array_equal(compute_flow(rgb(prev), rgb(nxt), backend="numpy"), gray)
    as_float = compute_flow(prev.astype(np.float64), nxt.astype(np.float64), backend="numpy")
    np.testing.assert_array_equal(as_float, gray)
    # OpenCV reads float frames on the 0-1 scale: the backend rescales them
    ref = compute_flow(prev, nxt, backend="opencv")
    np.testing.assert_allclose(compute_flow(prev.astype(np.float32), nxt.astype(np.float32), backend="opencv"),
                               ref, atol=1e-3)


def test_auto_picks_cupy_only_with_a_device():
    prev, nxt, _ = make_pair(seed=8)
    if cuda_status() is not None:
        np.testing.assert_array_equal(compute_flow(prev, nxt), compute_flow(prev, nxt, backend="opencv"))


def test_params_serialise_and_presets():
    params = TVL1Params(tau=0.2, median_filtering=3)
    text = json.dumps(params.to_dict())
    assert TVL1Params.from_dict(json.loads(text)) == params
    cuda = tvl1_params("opencv-cuda")
    assert (cuda.inner_iterations, cuda.outer_iterations, cuda.median_filtering) == (1, 300, 1)
    assert tvl1_params(None) == TVL1Params() == tvl1_params("opencv")
    restarting = replace(params, restart_level=1, restart_gate=6.0)
    assert TVL1Params.from_dict(json.loads(json.dumps(restarting.to_dict()))) == restarting


def test_merge_starts_keeps_the_better_fit_only_near_the_carried_flow():
    prev, nxt, _ = make_pair(48, 120, shift=(8.0, 0.0))
    i0, i1 = (f.astype(np.float32)[None] for f in (prev, nxt))
    zero = np.zeros_like(i0)
    # thirds: fresh exact, carried 2 px off; carried exact, fresh 3 px off; fresh exact, carried 8 px away
    carried, fresh = (np.repeat(np.float32(thirds), 40)[None, None].repeat(48, 1)
                      for thirds in ((6, 8, 0), (8, 5, 8)))
    u, v = merge_starts(i0, i1, [carried, zero], [fresh, zero], gate=5.0)
    rows = slice(4, -4)
    assert (u[0, rows, 4:36] == 8).all()
    assert (u[0, rows, 44:76] == 8).all()
    assert (u[0, rows, 84:108] == 0).all()
    assert not v.any()


def test_coarse_to_fine_solves_the_restart_level_twice_once_from_zero():
    prev, nxt, _ = make_pair(64, 80, seed=2)
    i0, i1 = (f.astype(np.float32)[None] for f in (prev, nxt))
    calls = []

    def add_one(a, b, flow):  # a level "solver" whose starts can be told apart
        calls.append((a.shape[1:], float(flow[0].max())))
        return [f + 1 for f in flow]

    params = TVL1Params(scales=3, scale_step=0.5, restart_level=1)
    u, _ = coarse_to_fine(i0, i1, params, add_one)
    assert u.shape == (1, 64, 80)
    assert [c[0] for c in calls] == [(16, 20), (32, 40), (32, 40), (64, 80)]
    assert [c[1] for c in calls[:3]] == [0.0, 2.0, 0.0]
    calls.clear()
    # at the coarsest level both starts are zero: no restart
    coarse_to_fine(i0, i1, replace(params, restart_level=2), add_one)
    assert [c[0] for c in calls] == [(16, 20), (32, 40), (64, 80)]


def test_a_restart_below_the_pyramid_changes_nothing():
    prev, nxt, _ = make_pair(seed=6)
    params = tvl1_params("accurate")
    off = compute_flow(prev, nxt, backend="numpy", params=replace(params, restart_level=None))
    below = compute_flow(prev, nxt, backend="numpy", params=replace(params, restart_level=9))
    np.testing.assert_array_equal(below, off)


def test_opencv_backend_cannot_restart_with_the_illumination_term():
    prev, nxt, _ = make_pair(seed=7)
    with pytest.raises(FlowError, match="cannot restart a level with gamma > 0"):
        compute_flow(prev, nxt, backend="opencv", params=TVL1Params(gamma=0.1, restart_level=1))


GOOD = np.zeros((32, 32), np.uint8)


@pytest.mark.parametrize("kwargs, message", [
    ({"prev": np.zeros((32, 33), np.uint8)}, r"differ in size"),
    ({"prev": np.zeros((32, 32), np.int32)}, r"prev must be uint8 or floating point.*int32"),
    ({"next": np.full((32, 32), np.nan)}, r"next contains NaN or inf"),
    ({"prev": np.zeros((8, 40)), "next": np.zeros((8, 40))}, r"40x8 pixels; TV-L1 needs at least 16x16"),
    ({"prev": np.zeros((2, 3, 32, 32))}, r"got shape \(2, 3, 32, 32\)"),
    ({"prev": [[0] * 32] * 32}, r"prev must be a NumPy or CuPy array, got list"),
    ({"method": "farneback"}, r"unknown flow method 'farneback'"),
    ({"backend": "torch"}, r"unknown backend 'torch'"),
    ({"params": "opencv-cud"}, r"unknown TV-L1 preset 'opencv-cud'; did you mean opencv-cuda"),
])
def test_bad_input_raises_flow_error(kwargs, message):
    args = {"prev": GOOD, "next": GOOD, "backend": "numpy", **kwargs}
    with pytest.raises(FlowError, match=message):
        compute_flow(**args)


def test_flow_error_is_a_value_error():
    with pytest.raises(ValueError):
        compute_flow(GOOD, GOOD, backend="nope")


@pytest.mark.skipif(cuda_status() is None, reason="a CUDA device is present")
def test_cupy_without_a_device_says_why():
    with pytest.raises(FlowError, match="backend 'cupy' cannot run"):
        compute_flow(GOOD, GOOD, backend="cupy")


@pytest.mark.parametrize("field, value", [("tau", 0), ("scale_step", 1.0), ("warps", 0),
                                          ("median_filtering", 7), ("gamma", -1.0), ("scales", 2.5),
                                          ("restart_level", -1), ("restart_level", 1.0), ("restart_gate", 0)])
def test_bad_params(field, value):
    with pytest.raises(FlowError, match=f"TVL1Params.{field}"):
        TVL1Params(**{field: value})


def test_opencv_backend_is_not_affected_by_an_earlier_small_frame():
    # cv2's calc() lowers the object's scale count on small frames and keeps it for later calls
    small, _, _ = make_pair(20, 20, seed=9)
    compute_flow(small, small, backend="opencv")
    prev, nxt, _ = make_pair(seed=9)
    fresh = cv2.optflow.DualTVL1OpticalFlow_create().calc(prev, nxt, None)
    np.testing.assert_array_equal(compute_flow(prev, nxt, backend="opencv"), fresh)
