"""The array-module image operations against the OpenCV functions they reproduce, on NumPy."""

import cv2
import numpy as np
import pytest
from scipy import ndimage

from flowkit.solvers.imgops import (
    box_mean,
    box_mean_xp,
    centered_gradient,
    divergence,
    forward_gradient,
    median_filter,
    remap_cubic,
    remap_cubic_xp,
    resize_linear,
    to_gray,
)


@pytest.fixture
def images():
    return np.random.default_rng(0).uniform(0, 255, (2, 37, 53)).astype(np.float32)


@pytest.mark.parametrize("factor", [0.8, 0.5, 0.73])
def test_resize_by_factor_matches_cv2(images, factor):
    h, w = (int(np.rint(s * factor)) for s in images.shape[1:])
    ours = resize_linear(images, (h, w), factor)
    for i in range(2):
        ref = cv2.resize(images[i], None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
        assert ref.shape == (h, w)
        np.testing.assert_allclose(ours[i], ref, atol=1e-4)


@pytest.mark.parametrize("size", [(46, 66), (74, 106), (20, 31)])
def test_resize_to_size_matches_cv2(images, size):
    ours = resize_linear(images, size)
    ref = cv2.resize(images[1], size[::-1], interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(ours[1], ref, atol=1e-4)


def test_remap_cubic_twin_matches_cv2(images):
    rng = np.random.default_rng(1)
    n, h, w = images.shape
    grid_y, grid_x = np.mgrid[:h, :w].astype(np.float32)
    # displacements large enough to sample well outside the image on every side
    map_x = (grid_x + rng.normal(0, 6, (n, h, w))).astype(np.float32)
    map_y = (grid_y + rng.normal(0, 6, (n, h, w))).astype(np.float32)
    ours = remap_cubic_xp((images, images * 2), map_x, map_y)
    via_cv2 = remap_cubic((images,), map_x, map_y)[0]
    for i in range(n):
        ref = cv2.remap(images[i], map_x[i], map_y[i], cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT)
        np.testing.assert_allclose(ours[0][i], ref, atol=2e-3)
        np.testing.assert_allclose(ours[1][i], 2 * ref, atol=4e-3)
        np.testing.assert_array_equal(via_cv2[i], ref)


def test_remap_far_outside_is_zero(images):
    far = np.full(images.shape, -50.0, np.float32)
    assert not remap_cubic_xp((images,), far, far)[0].any()


@pytest.mark.parametrize("size", [3, 5, 9])
def test_box_mean_twin_matches_cv2(images, size):
    ours = box_mean_xp(images, size)
    via_cv2 = box_mean(images, size)
    for i in range(2):
        ref = cv2.blur(images[i], (size, size))
        np.testing.assert_allclose(ours[i], ref, atol=1e-3)
        np.testing.assert_array_equal(via_cv2[i], ref)
    # the border is mirrored without repeating the edge pixel, as cv2's BORDER_REFLECT_101
    mirrored = np.abs(np.arange(-(size // 2), size // 2 + 1))
    np.testing.assert_allclose(ours[0, 0, 0], images[0][np.ix_(mirrored, mirrored)].mean(), rtol=1e-5)


@pytest.mark.parametrize("size", [3, 5])
def test_median_matches_scipy_twin(images, size):
    # the CuPy path uses (cupyx.)scipy's median_filter; on NumPy the two must agree exactly
    ours = median_filter(images, size)
    ref = ndimage.median_filter(images, size=(1, size, size), mode="nearest")
    np.testing.assert_array_equal(ours, ref)


def test_gradients_on_a_tiny_image():
    a = np.array([[[0, 1, 4], [2, 4, 8], [3, 9, 27]]], np.float32)
    dx, dy = centered_gradient(a)
    np.testing.assert_array_equal(dx[0], [[0.5, 2, 1.5], [1, 3, 2], [3, 12, 9]])
    np.testing.assert_array_equal(dy[0], [[1, 1.5, 2], [1.5, 4, 11.5], [0.5, 2.5, 9.5]])
    fx, fy = forward_gradient(a)
    np.testing.assert_array_equal(fx[0], [[1, 3, 0], [2, 4, 0], [6, 18, 0]])
    np.testing.assert_array_equal(fy[0], [[2, 3, 4], [1, 5, 19], [0, 0, 0]])


def test_divergence_is_minus_adjoint_of_forward_gradient():
    rng = np.random.default_rng(2)
    u = rng.normal(size=(1, 9, 12)).astype(np.float64)
    px, py = rng.normal(size=(2, 1, 9, 12))
    gx, gy = forward_gradient(u)
    # <grad u, p> = -<u, div p> holds when p vanishes where the gradient is forced to zero
    px[:, :, -1] = 0
    py[:, -1, :] = 0
    assert np.sum(gx * px + gy * py) == pytest.approx(-np.sum(u * divergence(px, py)))


def test_to_gray_matches_cv2():
    rgb = np.random.default_rng(3).integers(0, 256, (2, 9, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(to_gray(rgb)[1], cv2.cvtColor(rgb[1], cv2.COLOR_RGB2GRAY))
    as_float = rgb.astype(np.float32)
    np.testing.assert_allclose(to_gray(as_float)[0], cv2.cvtColor(as_float[0], cv2.COLOR_RGB2GRAY), atol=1e-3)
