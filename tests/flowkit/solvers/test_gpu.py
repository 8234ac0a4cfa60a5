"""The CuPy backend and the array-module twins on a CUDA device; skipped without one."""

import cv2
import numpy as np
import pytest
from helpers.pairs import make_pair

from flowkit import compute_flow, cuda_status, endpoint_error
from flowkit.solvers.imgops import median_filter, remap_cubic_xp, resize_linear

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(cuda_status() is not None, reason=f"needs CUDA: {cuda_status()}")]


@pytest.fixture
def cp():
    import cupy

    return cupy


def test_cupy_backend_follows_numpy(cp):
    prev, nxt, truth = make_pair(96, 112, seed=4, max_px=4.0)
    host = compute_flow(prev, nxt, backend="numpy")
    device = compute_flow(prev, nxt, backend="cupy")
    assert isinstance(device, np.ndarray) and device.dtype == np.float32
    assert np.abs(device - host).mean() < 0.02
    assert endpoint_error(device, truth) == pytest.approx(endpoint_error(host, truth), rel=0.03, abs=0.005)


def test_cupy_in_cupy_out_and_batches(cp):
    pairs = [make_pair(seed=s, max_px=m) for s, m in ((10, 1.0), (11, 4.0), (12, 2.5))]
    prevs = cp.asarray(np.stack([p[0] for p in pairs]))
    nexts = cp.asarray(np.stack([p[1] for p in pairs]))
    batch = compute_flow(prevs, nexts, backend="cupy")
    assert isinstance(batch, cp.ndarray) and batch.shape == (3, 64, 80, 2)
    for i in range(3):
        single = compute_flow(prevs[i], nexts[i], backend="cupy")
        cp.testing.assert_allclose(batch[i], single, atol=1e-4)


def test_cupy_brox_follows_numpy(cp):
    prev, nxt, _ = make_pair(96, 112, seed=4, max_px=4.0)
    host = compute_flow(prev, nxt, method="brox", backend="numpy")
    device = compute_flow(prev, nxt, method="brox", backend="cupy")
    assert isinstance(device, np.ndarray) and device.dtype == np.float32
    np.testing.assert_allclose(device, host, atol=1e-3)


def test_cupy_brox_batches(cp):
    pairs = [make_pair(seed=s, max_px=m) for s, m in ((10, 1.0), (11, 4.0))]
    still, _, _ = make_pair(seed=13)
    prevs = cp.asarray(np.stack([p[0] for p in pairs] + [still]))
    nexts = cp.asarray(np.stack([p[1] for p in pairs] + [still]))
    batch = compute_flow(prevs, nexts, method="brox", backend="cupy")
    assert isinstance(batch, cp.ndarray) and batch.shape == (3, 64, 80, 2)
    for i in range(3):
        single = compute_flow(prevs[i], nexts[i], method="brox", backend="cupy")
        cp.testing.assert_allclose(batch[i], single, atol=1e-4)
    assert not bool(batch[2].any())

def test_fused_brox_on_cupy_arrays_follows_the_array_code(cp):
    """The kernels against the array code on the device, at 180 x 250 px (many blocks across and down)."""
    from flowkit.solvers.brox import brox
    from flowkit.solvers.fused.brox import brox_fused
    from flowkit.params import BROX_PRESETS

    pairs = [make_pair(180, 250, seed=s, max_px=m) for s, m in ((36, 1.5), (37, 4.0))]
    i0 = cp.asarray(np.stack([p[0] for p in pairs]).astype(np.float32))
    i1 = cp.asarray(np.stack([p[1] for p in pairs]).astype(np.float32))
    for preset, params in BROX_PRESETS.items():
        fused = brox_fused(i0, i1, params)
        cp.testing.assert_array_equal(brox_fused(i0, i1, params), fused)
        cp.testing.assert_allclose(fused, brox(i0, i1, params), atol=1e-3, err_msg=preset)
        for b, (_, _, truth) in enumerate(pairs):
            assert endpoint_error(cp.asnumpy(fused[b]), truth) < 0.05, (preset, b)


def test_twins_agree_on_the_device(cp):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (2, 37, 53)).astype(np.float32)
    grid_y, grid_x = np.mgrid[:37, :53].astype(np.float32)
    map_x = (grid_x + rng.normal(0, 6, images.shape)).astype(np.float32)
    map_y = (grid_y + rng.normal(0, 6, images.shape)).astype(np.float32)
    host = remap_cubic_xp((images,), map_x, map_y)[0]
    device = remap_cubic_xp((cp.asarray(images),), cp.asarray(map_x), cp.asarray(map_y))[0]
    np.testing.assert_allclose(cp.asnumpy(device), host, atol=2e-3)
    np.testing.assert_array_equal(cp.asnumpy(median_filter(cp.asarray(images), 5)), median_filter(images, 5))
    resized = cp.asnumpy(resize_linear(cp.asarray(images), (30, 42), 0.8))
    np.testing.assert_allclose(resized[1], cv2.resize(images[1], None, fx=0.8, fy=0.8), atol=1e-4)


def test_fused_tvl1_on_cupy_arrays_follows_the_array_solver(cp):
    from flowkit.params import tvl1_params
    from flowkit.solvers.tvl1 import tvl1
    from flowkit.solvers.fused.tvl1 import tvl1_fused

    pairs = [make_pair(96, 112, seed=s, max_px=m) for s, m in ((30, 1.0), (31, 4.0), (32, 2.5))]
    i0 = cp.asarray(np.stack([p[0] for p in pairs]).astype(np.float32))
    i1 = cp.asarray(np.stack([p[1] for p in pairs]).astype(np.float32))
    for preset in ("opencv", "opencv-cuda", "accurate"):
        params = tvl1_params(preset)
        fused = tvl1_fused(i0, i1, params, iterations_per_launch=1)
        array = tvl1(i0, i1, params)
        assert isinstance(fused, cp.ndarray) and fused.shape == (3, 96, 112, 2)
        assert float(cp.abs(fused - array).max()) < 5e-3, preset
        for b, (_, _, truth) in enumerate(pairs):
            assert endpoint_error(cp.asnumpy(fused[b]), truth) == pytest.approx(
                endpoint_error(cp.asnumpy(array[b]), truth), rel=0.01, abs=0.002)


def test_fused_tvl1_is_deterministic(cp):
    from flowkit.params import tvl1_params
    from flowkit.solvers.fused.tvl1 import tvl1_fused

    prev, nxt, _ = make_pair(128, 160, seed=33, max_px=3.0)
    i0, i1 = (cp.asarray(np.stack([f] * 4).astype(np.float32)) for f in (prev, nxt))
    first = tvl1_fused(i0, i1, tvl1_params())
    for _ in range(2):
        cp.testing.assert_array_equal(tvl1_fused(i0, i1, tvl1_params()), first)
    for b in range(1, 4):
        cp.testing.assert_array_equal(first[b], first[0])


def test_fused_tvl1_with_several_iterations_per_launch_follows_one_per_launch(cp):
    from flowkit.solvers.fused.kernels import MAX_PER_LAUNCH
    from flowkit.params import tvl1_params
    from flowkit.solvers.fused.tvl1 import tvl1_fused

    # 180 x 250 px: many shared-memory tiles across and down
    pairs = [make_pair(180, 250, seed=s, max_px=m) for s, m in ((34, 1.5), (35, 4.0))]
    i0 = cp.asarray(np.stack([p[0] for p in pairs]).astype(np.float32))
    i1 = cp.asarray(np.stack([p[1] for p in pairs]).astype(np.float32))
    for preset in ("opencv", "accurate"):
        params = tvl1_params(preset)
        one = tvl1_fused(i0, i1, params, iterations_per_launch=1)
        for k in (2, 3, 4, MAX_PER_LAUNCH):
            chunked = tvl1_fused(i0, i1, params, iterations_per_launch=k)
            cp.testing.assert_array_equal(tvl1_fused(i0, i1, params, iterations_per_launch=k), chunked)
            # the stopping sums are rounded per block, and the blocks differ from one per launch
            assert float(cp.abs(chunked - one).mean()) < 0.02, (preset, k)
            for b, (_, _, truth) in enumerate(pairs):
                assert endpoint_error(cp.asnumpy(chunked[b]), truth) == pytest.approx(
                    endpoint_error(cp.asnumpy(one[b]), truth), rel=0.01, abs=0.002)
