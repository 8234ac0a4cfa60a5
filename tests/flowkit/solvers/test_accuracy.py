"""Accuracy on the shared ground-truth pairs: our solver against OpenCV's with the same
parameters, and the ``accurate`` preset against OpenCV's and scikit-image's defaults."""

import functools

import numpy as np
import pytest
from helpers.cli import SHARED
from skimage.registration import optical_flow_tvl1

from flowkit import TVL1_PRESETS, compute_flow, endpoint_error, find_ground_truth, read_flo, read_image
from flowkit.solvers.imgops import to_gray
from flowkit.datasets.known_flow import smooth_flow, texture, translation_flow, warped_pair
from flowkit.solvers.tvl1 import pyramid_sizes

PAIRS = find_ground_truth(SHARED / "flow-gt") if SHARED.is_dir() else []


@functools.cache
def _epe(name: str, backend: str, preset: str) -> float:
    """EPE on one shared pair of ``compute_flow``, or of scikit-image's defaults (``backend="skimage"``)."""
    pair = next(p for p in PAIRS if p.name == name)
    frame0, frame1, truth = read_image(pair.frame0), read_image(pair.frame1), read_flo(pair.flow)
    if backend == "skimage":
        v, u = optical_flow_tvl1(*(to_gray(f).astype(np.uint8) for f in (frame0, frame1)))
        return endpoint_error(np.stack([u, v], axis=-1), truth)
    return endpoint_error(compute_flow(frame0, frame1, backend=backend, params=preset), truth)


def test_the_shared_pairs_are_all_found(shared_data):
    names = [p.name for p in find_ground_truth(shared_data / "flow-gt")]
    assert len(names) == 9
    assert "flyingchairs/0000004" in names and "sintel-final/cave_2" in names


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("preset", ["opencv", "opencv-cuda", "accurate"])
@pytest.mark.parametrize("pair", PAIRS, ids=[p.name for p in PAIRS])
def test_numpy_epe_within_3_percent_of_opencv(shared_data, pair, preset):
    ours, reference = _epe(pair.name, "numpy", preset), _epe(pair.name, "opencv", preset)
    assert ours == pytest.approx(reference, rel=0.03)


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("pair", PAIRS, ids=[p.name for p in PAIRS])
def test_accurate_preset_within_3_percent_of_the_better_reference(shared_data, pair):
    better = min(_epe(pair.name, "opencv", "opencv"), _epe(pair.name, "skimage", ""))
    assert _epe(pair.name, "numpy", "accurate") <= 1.03 * better


@pytest.mark.shared
@pytest.mark.slow
def test_accurate_preset_mean_is_a_tenth_below_the_better_reference(shared_data):
    means = {source: np.mean([_epe(p.name, *source) for p in PAIRS])
             for source in [("numpy", "accurate"), ("opencv", "opencv"), ("skimage", "")]}
    assert means["numpy", "accurate"] <= 0.9 * min(means["opencv", "opencv"], means["skimage", ""])


def test_accurate_pyramid_goes_down_to_the_16_px_minimum():
    accurate = TVL1_PRESETS["accurate"]
    assert pyramid_sizes(256, 340, accurate) == [(256, 340), (128, 170), (64, 85), (32, 42), (16, 21)]
    assert pyramid_sizes(436, 1024, accurate)[-1] == (27, 64)
    assert pyramid_sizes(256, 340, TVL1_PRESETS["opencv"])[-1] == (105, 139)


@pytest.mark.slow
def test_accurate_preset_follows_a_motion_the_opencv_defaults_lose():
    h, w = 192, 256
    truth = smooth_flow(h, w, max_px=3, seed=1) + translation_flow(h, w, 16, -8)
    prev, nxt = warped_pair(texture(h, w, 0), truth)
    inner = (slice(32, -32), slice(32, -32))  # away from what leaves the frame
    accurate = compute_flow(prev, nxt, backend="numpy", params="accurate")
    defaults = compute_flow(prev, nxt, backend="opencv", params="opencv")
    assert endpoint_error(accurate[inner], truth[inner]) < 0.1
    assert endpoint_error(defaults[inner], truth[inner]) > 5
