"""On the shared ground-truth pairs, our solver's end-point error is within 3% of OpenCV's, pair by pair."""

import pytest
from conftest import SHARED

from flowkit import compute_flow, endpoint_error, find_ground_truth, read_flo, read_image

PAIRS = find_ground_truth(SHARED / "flow-gt") if SHARED.is_dir() else []


def test_the_shared_pairs_are_all_found(shared_data):
    names = [p.name for p in find_ground_truth(shared_data / "flow-gt")]
    assert len(names) == 9
    assert "flyingchairs/0000004" in names and "sintel-final/cave_2" in names


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("preset", ["opencv", "opencv-cuda"])
@pytest.mark.parametrize("pair", PAIRS, ids=[p.name for p in PAIRS])
def test_numpy_epe_within_3_percent_of_opencv(shared_data, pair, preset):
    frame0, frame1, truth = read_image(pair.frame0), read_image(pair.frame1), read_flo(pair.flow)
    ours = endpoint_error(compute_flow(frame0, frame1, backend="numpy", params=preset), truth)
    reference = endpoint_error(compute_flow(frame0, frame1, backend="opencv", params=preset), truth)
    assert ours == pytest.approx(reference, rel=0.03)
