"""The fused Brox kernels against their NumPy twin, run on the CPU through the C++ emulation
(threads in either order) and, where a GPU is present, on CUDA."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from helpers.pairs import make_pair
from helpers.kernel_emulation import EmulatedKernels, compiler

from flowkit.solvers.brox import Linearisation, _diffusivity, brox, fixed_point_step
from flowkit.solvers.fused.brox import FusedBrox
from flowkit.solvers.fused.kernels import BLOCK, grid, kernel_source
from flowkit.params import BROX_PRESETS, BroxParams


def _assert_twin(kernels, ours, twin, tol):
    """Bit-equal on the CPU build; on CUDA within ``tol`` (sqrtf and division round as NumPy's, but
    a few ulps of the warp's remap on CuPy carry through the sweeps)."""
    if isinstance(kernels, EmulatedKernels):
        np.testing.assert_array_equal(ours, twin)
    else:
        np.testing.assert_allclose(ours, twin, rtol=1e-5, atol=tol)


def _level(n, h, w, seed):
    """A random linearisation, scaled as frames on [0, 1] give it, and a random increment."""
    rng = np.random.default_rng(seed)
    planes = {name: rng.normal(0, 0.05, (n, h, w)).astype(np.float32) for name in
              ("ix", "iy", "ixx", "ixy", "iyy", "iz", "ixz", "iyz")}
    planes["ix"][0, :4] = 0  # flat rows: only the smoothness term there
    planes["iy"][0, :4] = 0
    u, v = (rng.normal(0, 3, (n, h, w)).astype(np.float32) for _ in range(2))
    du, dv = (rng.normal(0, 0.3, (n, h, w)).astype(np.float32) for _ in range(2))
    return Linearisation(u=u, v=v, **planes), du, dv


def test_links_kernel_gives_the_smoothness_weights(kernels):
    n, h, w = 2, 19, 45
    level, du, dv = _level(n, h, w, 1)
    eps2 = np.float32(BroxParams().eps ** 2)
    sx, sy = (np.full((n, h, w), np.nan, np.float32) for _ in range(2))
    kernels("tsf_brox_links", (*grid(h, w, BLOCK), n), BLOCK,
            (level.u, level.v, du, dv, sx, sy, np.int32(h), np.int32(w), eps2))
    want_x, want_y = _diffusivity(level.u + du, level.v + dv, eps2)
    assert (sx[:, :, 0] == 0).all() and (sy[:, 0] == 0).all()  # no link crosses the border
    _assert_twin(kernels, sx, want_x, 1e-6)
    _assert_twin(kernels, sy, want_y, 1e-6)


@pytest.mark.parametrize("preset", sorted(BROX_PRESETS))
@pytest.mark.parametrize("size", [(20, 33), (17, 40)])
def test_fixed_point_step_in_kernels_matches_the_array_step(kernels, preset, size):
    """Weights, coefficients and every red-black half-sweep; odd widths leave a colour one pixel
    short on every other row."""
    params = BROX_PRESETS[preset]
    level, du, dv = _level(3, *size, 2)
    before = du.copy(), dv.copy()
    ours = FusedBrox(params, kernels).fixed_point_step(level, du, dv, params)
    twin = fixed_point_step(level, du, dv, params)
    np.testing.assert_array_equal(du, before[0])  # the step's input is left as it is
    np.testing.assert_array_equal(dv, before[1])
    assert np.abs(twin[0] - du).max() > 0.01  # the sweeps moved the increment
    for got, want in zip(ours, twin):
        _assert_twin(kernels, got, want, 1e-5)


def test_fused_brox_gives_the_array_flow(kernels):
    """The whole solver: pyramid, warps and per-pair stopping from the array code, the inner loop
    in kernels; a pair at rest and a batch of pairs that stop at different iterations."""
    pairs = [make_pair(seed=s, max_px=m) for s, m in ((20, 1.0), (21, 4.0))]
    still, _, _ = make_pair(seed=22)
    i0 = np.stack([p[0] for p in pairs] + [still]).astype(np.float32)
    i1 = np.stack([p[1] for p in pairs] + [still]).astype(np.float32)
    for params in (BROX_PRESETS["denseflow"], replace(BROX_PRESETS["opencv-cuda"], tolerance=1e-3)):
        flow = FusedBrox(params, kernels)(i0, i1)
        assert flow.shape == (3, 64, 80, 2) and flow.dtype == np.float32
        _assert_twin(kernels, flow, brox(i0, i1, params), 1e-3)
        assert not flow[2].any()
        for b, (_, _, truth) in enumerate(pairs):
            assert np.abs(flow[b] - truth)[8:-8, 8:-8].mean() < 0.1


def test_a_sweep_over_both_colours_is_caught(tmp_path):
    """The red-black ordering is what makes the threads of a half-sweep independent: a kernel that
    updates every pixel reads neighbours that other threads are writing, and its result then
    depends on the thread order."""
    if compiler() is None:
        pytest.skip("no C++ compiler to build the kernels for the CPU")
    line = "const int x = 2 * (blockIdx.x * blockDim.x + threadIdx.x) + ((y + colour) & 1);"
    assert line in kernel_source()
    racy = kernel_source().replace(line, "const int x = blockIdx.x * blockDim.x + threadIdx.x;")
    params = BROX_PRESETS["denseflow"]
    level, du, dv = _level(1, 16, 64, 3)
    sweeps = []
    for name, source in (("sound", kernel_source()), ("racy", racy)):
        (tmp_path / name).mkdir()
        build = EmulatedKernels(tmp_path / name, source=source)
        for build.reverse in (False, True):
            # the racy kernel gets a thread per pixel: a grid twice as wide
            fused = FusedBrox(params, build)
            if name == "racy":
                fused.launch = lambda k, g, b, a, build=build: build(k, (2 * g[0], *g[1:]), b, a)
            sweeps.append(fused.fixed_point_step(level, du, dv, params)[0])
    np.testing.assert_array_equal(sweeps[0], sweeps[1])
    np.testing.assert_array_equal(sweeps[0], fixed_point_step(level, du, dv, params)[0])
    assert np.abs(sweeps[2] - sweeps[3]).max() > 1e-3
