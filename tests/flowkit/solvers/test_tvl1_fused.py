"""The fused TV-L1 kernels against their NumPy twins, run on the CPU through the C++ emulation."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
from helpers.pairs import make_pair
from helpers.kernel_emulation import CudaOnNumpy, EmulatedKernels, compiler
from helpers.kernel_nvrtc import compile_for, nvrtc

from flowkit.io.groundtruth import endpoint_error
from flowkit.solvers.imgops import remap_cubic_xp
from flowkit.solvers.fused.kernels import BLOCK, MAX_PER_LAUNCH, TILE, grid, kernel_source
from flowkit.params import TVL1_PRESETS, TVL1Params, tvl1_params
from flowkit.solvers.fused.sortnet import median_network, median_numpy
from flowkit.solvers.tvl1 import tvl1
from flowkit.solvers.fused.tvl1 import FusedTVL1, fused_supported


@pytest.mark.parametrize("count", [3, 9, 25])
def test_median_network_is_the_median(count):
    rng = np.random.default_rng(count)
    for values in (rng.normal(size=(count, 500)), rng.integers(0, 4, (count, 500))):
        values = values.astype(np.float32)
        np.testing.assert_array_equal(median_numpy(list(values)), np.median(values, axis=0))
    comparators, wire = median_network(count)
    assert 0 <= wire < count and all(0 <= i < count and 0 <= j < count for i, j, _, _ in comparators)


def test_median_network_filters_as_opencv():
    image = np.random.default_rng(0).uniform(-5, 5, (23, 31)).astype(np.float32)
    padded = np.pad(image, 2, mode="edge")
    windows = [padded[dy:dy + 23, dx:dx + 31] for dy in range(5) for dx in range(5)]
    np.testing.assert_array_equal(median_numpy(windows), cv2.medianBlur(image, 5))


def _exact(kernels):
    """Tolerance against the NumPy twins: the CPU build rounds as NumPy, CUDA's hypotf may not."""
    return 1e-5 if isinstance(kernels, EmulatedKernels) else 2e-3


def _assert_follows(kernels, flow, reference):
    """The CPU build gives the array solver's flow; on CUDA, hypotf's last bit moves a few pixels of
    these small frames by up to a few px (so does flipping that bit on the CPU), not the mean."""
    if isinstance(kernels, EmulatedKernels):
        np.testing.assert_allclose(flow, reference, atol=1e-5)
    else:
        assert np.abs(flow - reference).mean() < 0.02


def _state(n, h, w, seed):
    rng = np.random.default_rng(seed)
    state = np.zeros((2, 6, n, h, w), np.float32)
    state[:, :2] = rng.normal(0, 3, (2, 2, n, h, w))
    state[:, 2:] = rng.uniform(-1, 1, (2, 4, n, h, w))
    return state


def _grid(h, w, n):
    return (*grid(h, w, BLOCK), n)


def test_warp_kernel_matches_remap(kernels):
    n, h, w = 2, 19, 45
    rng = np.random.default_rng(1)
    i0, i1, i1x, i1y = (rng.uniform(0, 255, (n, h, w)).astype(np.float32) for _ in range(4))
    state = _state(n, h, w, 2)
    state[:, :2] *= 4  # some samples fall outside the frame
    cur = np.array([1, 0], np.int32)
    ix, iy, rc = (np.zeros((n, h, w), np.float32) for _ in range(3))
    kernels("tsf_warp", _grid(h, w, n), BLOCK, (state, cur, i0, i1, i1x, i1y, ix, iy, rc, n, h, w))
    u = state[cur, :2, np.arange(n)]
    gy, gx = np.mgrid[:h, :w].astype(np.float32)
    warped, wx, wy = remap_cubic_xp((i1, i1x, i1y), gx + u[:, 0], gy + u[:, 1])
    tol = _exact(kernels)
    np.testing.assert_allclose(ix, wx, atol=tol)
    np.testing.assert_allclose(iy, wy, atol=tol)
    np.testing.assert_allclose(rc, warped - wx * u[:, 0] - wy * u[:, 1] - i0, atol=tol)


@pytest.mark.parametrize("stop", [0.0, 1e9])
def test_step_kernel_matches_the_array_step(kernels, stop):
    n, h, w = 3, 21, 40
    params = TVL1Params()
    rng = np.random.default_rng(3)
    state = _state(n, h, w, 4)
    ix, iy = (rng.normal(0, 20, (n, h, w)).astype(np.float32) for _ in range(2))
    ix[0, :3] = 0  # flat rows: the step has no data term there
    iy[0, :3] = 0
    rc = rng.normal(0, 30, (n, h, w)).astype(np.float32)
    cur = np.array([0, 1, 1], np.int32)
    active = np.array([1, 0, 1], np.int32)
    pairs = np.array([0, 1, 2], np.int32)
    err = np.zeros(n, np.uint64)
    arrived = np.zeros(n, np.uint32)
    before = state.copy()
    lt, theta, taut = (np.float32(v) for v in (params.lambda_ * params.theta, params.theta, params.tau / params.theta))
    kernels("tsf_step", _grid(h, w, n), BLOCK,
            (state, cur, active, pairs, ix, iy, rc, err, arrived, n, h, w, lt, theta, taut, np.float64(stop)))
    for b in (0, 2):
        expected, (update,) = _array_steps(before, 1 - cur, b, (ix, iy, rc), 1)
        assert update > 0
        for c in range(6):
            np.testing.assert_allclose(state[cur[b], c, b], expected[c],
                                       atol=2e-6 if isinstance(kernels, EmulatedKernels) else 1e-5,
                                       err_msg=f"pair {b} part {c}")
    # the updated pairs now live in the other buffer; they stop when their update is <= stop
    np.testing.assert_array_equal(cur, [1, 1, 0])
    np.testing.assert_array_equal(active, [0, 0, 0] if stop else [1, 0, 1])
    np.testing.assert_array_equal(state[:, :, 1], before[:, :, 1])  # an inactive pair is left alone
    np.testing.assert_array_equal(err, 0)
    np.testing.assert_array_equal(arrived, 0)


def _steps(kernels, state, cur, active, pairs, redo, warp, k, rerun, stop=0.0):
    """One launch of tsf_steps over ``(N, H, W)`` planes; ``warp`` is ``(ix, iy, rc)``."""
    n, h, w = warp[0].shape
    params = TVL1Params()
    lt, theta, taut = (np.float32(v) for v in (params.lambda_ * params.theta, params.theta, params.tau / params.theta))
    err, arrived = np.zeros((n, MAX_PER_LAUNCH), np.uint64), np.zeros(n, np.uint32)
    inner = (TILE[0] - 2 * k, TILE[1] - 2 * k)
    grid = (-(-w // inner[0]), -(-h // inner[1]), len(pairs))
    kernels("tsf_steps", grid, BLOCK, (state, cur, active, pairs, redo, *warp, err, arrived, n, h, w, lt, theta, taut,
                                       np.float64(stop), k, int(rerun)))
    np.testing.assert_array_equal(err, 0)
    np.testing.assert_array_equal(arrived, 0)
    return grid


def _array_steps(state, cur, b, warp, count):
    """Pair ``b``'s state after ``count`` iterations of the array twin, with each iteration's update."""
    from flowkit.solvers.tvl1 import _primal_dual_step, _Warp

    ix, iy, rc = (a[b:b + 1] for a in warp)
    g = ix * ix + iy * iy
    twin = _Warp(ix, iy, g, np.where(g > np.finfo(np.float32).eps, g, np.float32(1)),
                 np.float32(TVL1Params().lambda_ * TVL1Params().theta) * g, rc)
    work = [state[cur[b], c, b:b + 1].copy() for c in range(6)]
    updates = [float(_primal_dual_step(work, twin, TVL1Params())[0]) for _ in range(count)]
    return np.stack([c[0] for c in work]), updates


def test_steps_kernel_runs_k_iterations_on_tiles_and_reruns_a_pair_that_stopped_inside(kernels):
    # 50 x 150 px: with k = 4 the inner tiles are 56 x 20, a grid of 3 x 3 blocks per pair
    n, h, w, k = 3, 50, 150, 4
    rng = np.random.default_rng(7)
    state = _state(n, h, w, 8)
    state[:, :, 2] *= 4  # pair 2 moves more: it does not stop where pair 0 does
    ix, iy = (rng.normal(0, 20, (n, h, w)).astype(np.float32) for _ in range(2))
    rc = rng.normal(0, 30, (n, h, w)).astype(np.float32)
    warp = (ix, iy, rc)
    cur = np.array([1, 0, 0], np.int32)
    active = np.array([1, 0, 1], np.int32)
    redo = np.zeros(n, np.int32)
    before = state.copy()
    expected = {b: _array_steps(before, cur, b, warp, k) for b in (0, 2)}
    updates0, updates2 = expected[0][1], expected[2][1]
    stop = updates0[2] * 1.001  # pair 0 stops after its third iteration of four
    assert min(updates0[:2]) > 1.01 * stop and min(updates2) > 1.01 * stop
    pairs = np.arange(n, dtype=np.int32)
    _steps(kernels, state, cur, active, pairs, redo, warp, k, rerun=False, stop=stop)
    tol = _exact(kernels)
    np.testing.assert_allclose(state[1, :, 2], expected[2][0], atol=tol)  # pair 2: moved to buffer 1
    np.testing.assert_array_equal(cur, [1, 0, 1])
    np.testing.assert_array_equal(active, [0, 0, 1])
    np.testing.assert_array_equal(redo, [3, 0, 0])
    np.testing.assert_array_equal(state[1, :, 0], before[1, :, 0])  # pair 0's start is kept
    np.testing.assert_array_equal(state[:, :, 1], before[:, :, 1])  # an inactive pair is left alone
    # the rerun: pair 0 runs its three iterations from the start; pairs without a rerun are left alone
    settled = state[:, :, 1:].copy()
    _steps(kernels, state, cur, active, pairs, redo, warp, k, rerun=True)
    np.testing.assert_allclose(state[0, :, 0], _array_steps(before, [1, 0, 0], 0, warp, 3)[0], atol=tol)
    np.testing.assert_array_equal(cur, [0, 0, 1])
    np.testing.assert_array_equal(redo, 0)
    np.testing.assert_array_equal(state[:, :, 1:], settled)


def test_a_race_inside_a_phase_changes_the_emulated_result(tmp_path):
    """The reversed thread order catches a thread reading what another writes in the same phase."""
    if compiler() is None:
        pytest.skip("no C++ compiler to build the kernels for the CPU")
    line = "tsf_dual(right ? tile[0][j + 1] - tile[0][j] : 0.0f,"
    assert line in kernel_source()
    # the dual phase made to read its right neighbour's p, which that thread updates in this phase
    racy = kernel_source().replace(line, "tsf_dual(right ? tile[0][j + 1] - tile[0][j] + tile[2][j + 1] : 0.0f,")
    n, h, w = 1, 30, 70
    rng = np.random.default_rng(9)
    warp = tuple(rng.normal(0, 20, (n, h, w)).astype(np.float32) for _ in range(3))
    results = []
    for name, source in (("sound", kernel_source()), ("racy", racy)):
        (tmp_path / name).mkdir()
        build = EmulatedKernels(tmp_path / name, source=source)
        for build.reverse in (False, True):
            state = _state(n, h, w, 10)
            cur, active, redo = np.zeros(n, np.int32), np.ones(n, np.int32), np.zeros(n, np.int32)
            _steps(build, state, cur, active, np.arange(n, dtype=np.int32), redo, warp, 2, rerun=False)
            results.append(state[1])
    np.testing.assert_array_equal(results[0], results[1])
    assert np.abs(results[2] - results[3]).max() > 1e-3


@pytest.mark.parametrize("arch", ["sm_70", "sm_80", "sm_90"])
def test_the_kernels_compile_for_the_device(arch):
    """The CUDA build, checked without a GPU: NVRTC and ptxas for V100, A100 and H100."""
    if nvrtc() is None:
        pytest.skip("NVRTC is not installed (the nvidia-cuda-nvrtc-cu12 wheel of the test dependencies)")
    ok, log = compile_for(kernel_source(), arch)
    assert ok, log
    # the tile is sized to the 48 KiB of static shared memory: 4 rows more do not fit
    taller = kernel_source().replace(f"#define TSF_TILE_H {TILE[1]}\n", f"#define TSF_TILE_H {TILE[1] + 4}\n")
    ok, log = compile_for(taller, arch)
    assert not ok and "too much shared data" in log


@pytest.mark.parametrize("size", [3, 5])
def test_median_kernel_matches_opencv(kernels, size):
    n, h, w = 2, 17, 35
    state = _state(n, h, w, 5)
    before = state.copy()
    cur, active, pairs = np.array([1, 0], np.int32), np.array([1, 1], np.int32), np.arange(n, dtype=np.int32)
    arrived = np.zeros(n, np.uint32)
    kernels("tsf_median", _grid(h, w, n), BLOCK, (state, cur, active, pairs, arrived, n, h, w, size))
    np.testing.assert_array_equal(cur, [0, 1])
    np.testing.assert_array_equal(active, [1, 1])
    np.testing.assert_array_equal(arrived, 0)
    for b in range(n):
        for c in range(2):
            np.testing.assert_array_equal(state[cur[b], c, b], cv2.medianBlur(before[1 - cur[b], c, b], size))
        np.testing.assert_array_equal(state[cur[b], 2:, b], before[1 - cur[b], 2:, b])


def _batch():
    pairs = [make_pair(40, 52, seed=s, max_px=m) for s, m in ((21, 1.0), (22, 3.0))]
    still = make_pair(40, 52, seed=23)[0]
    i0 = np.stack([p[0] for p in pairs] + [still]).astype(np.float32)
    i1 = np.stack([p[1] for p in pairs] + [still]).astype(np.float32)
    return i0, i1, [p[2] for p in pairs]


# at 40x52 the accurate pyramid has two levels, so its restart (level 1) is moved to the frame's level
@pytest.mark.parametrize("preset", ["opencv", "opencv-cuda", "accurate",
                                    pytest.param(replace(TVL1_PRESETS["accurate"], restart_level=0),
                                                 id="accurate-restart-0")])
def test_fused_solver_is_the_array_solver(kernels, preset, monkeypatch):
    # the array solver as it runs on CuPy: the array-module remap rather than cv2.remap
    monkeypatch.setattr("flowkit.solvers.tvl1.remap_cubic", remap_cubic_xp)
    i0, i1, _ = _batch()
    params = tvl1_params(preset)
    fused = FusedTVL1(params, kernels, poll=3)(i0, i1)
    reference = tvl1(i0, i1, params)
    assert fused.shape == reference.shape == (3, 40, 52, 2)
    _assert_follows(kernels, fused, reference)
    assert not fused[2].any()
    single = FusedTVL1(params, kernels, poll=7)(i0[1:2], i1[1:2])
    np.testing.assert_allclose(single[0], fused[1], atol=_exact(kernels))


@pytest.mark.parametrize("preset", ["opencv", "accurate"])
def test_several_iterations_per_launch_give_the_same_flow(kernels, preset):
    # 70 x 150 px: several tiles across and down at every level; pairs stop inside chunks
    pairs = [make_pair(70, 150, seed=s, max_px=m) for s, m in ((24, 1.0), (25, 3.0))]
    i0 = np.stack([p[0] for p in pairs]).astype(np.float32)
    i1 = np.stack([p[1] for p in pairs]).astype(np.float32)
    params = tvl1_params(preset)
    one = FusedTVL1(params, kernels, poll=3, iterations_per_launch=1)(i0, i1)
    for per_launch in (2, 3, 4, MAX_PER_LAUNCH):
        chunked = FusedTVL1(params, kernels, poll=3, iterations_per_launch=per_launch)(i0, i1)
        if isinstance(kernels, EmulatedKernels):
            np.testing.assert_array_equal(chunked, one, err_msg=f"{per_launch} per launch")
        else:  # the stopping sums are rounded per block, and the blocks differ
            assert np.abs(chunked - one).mean() < 0.02, per_launch


def test_iterations_per_launch_is_bounded():
    for bad in (0, MAX_PER_LAUNCH + 1):
        with pytest.raises(ValueError, match="iterations_per_launch"):
            FusedTVL1(TVL1Params(), CudaOnNumpy(), iterations_per_launch=bad)


def test_fused_solver_is_as_accurate_as_the_cpu_solver(kernels):
    i0, i1, truths = _batch()
    params = tvl1_params("opencv")
    fused = FusedTVL1(params, kernels)(i0, i1)
    host = tvl1(i0, i1, params)
    for b, truth in enumerate(truths):
        assert endpoint_error(fused[b], truth) == pytest.approx(endpoint_error(host[b], truth), rel=0.03, abs=0.005)


def test_gamma_is_left_to_the_array_solver():
    assert fused_supported(TVL1Params()) and not fused_supported(TVL1Params(gamma=0.1))
