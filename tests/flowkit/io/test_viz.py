import numpy as np
import pytest

from flowkit import FlowError, flow_to_color


def _one(u, v, max_flow=1.0):
    return flow_to_color(np.array([[[u, v]]], np.float32), max_flow=max_flow)[0, 0].tolist()


def test_middlebury_wheel_directions():
    # the wheel's anchors: right is red, down is yellow, left is cyan-blue, up is blue-magenta
    assert _one(1, 0) == [255, 0, 0]
    assert _one(0, 0) == [255, 255, 255]
    assert _one(-1, 0) == [0, 209, 255]  # index 27 of 55: two steps into cyan-blue
    assert _one(0, 1) == [255, 229, 0]  # between wheel entries 13 and 14, red-yellow
    r, g, b = _one(0, -1)
    assert b == 255 and r > g


def test_saturation_grows_with_magnitude_and_unknown_is_black():
    flow = np.array([[[0.1, 0], [0.9, 0], [np.nan, 0], [2e9, 0]]], np.float32)
    image = flow_to_color(flow, max_flow=1.0)
    assert image.dtype == np.uint8 and image.shape == (1, 4, 3)
    assert image[0, 0, 1] > image[0, 1, 1]  # weaker motion is paler
    assert image[0, 2].tolist() == [0, 0, 0] and image[0, 3].tolist() == [0, 0, 0]


def test_normalises_by_largest_magnitude():
    flow = np.zeros((2, 2, 2), np.float32)
    flow[0, 0] = (5.0, 0.0)
    assert flow_to_color(flow)[0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize("flow, kwargs", [(np.zeros((3, 3)), {}), (np.zeros((3, 3, 2)), {"max_flow": 0})])
def test_errors(flow, kwargs):
    with pytest.raises(FlowError):
        flow_to_color(flow, **kwargs)
