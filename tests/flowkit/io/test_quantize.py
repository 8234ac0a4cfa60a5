import numpy as np
import pytest

from flowkit import FlowError, dequantize, quantize


def test_pinned_values():
    v = np.array([-25.0, -20.0, 0.0, 0.0784, 20.0, 25.0])
    assert quantize(v).tolist() == [0, 0, 128, 128, 255, 255]


def test_round_half_to_even_and_neighbours():
    # 0 px sits exactly at 127.5, which cvRound (half to even) sends to 128
    v = np.array([-0.1, 0.0, 0.3, -0.0784, 19.95])
    assert quantize(v).tolist() == [127, 128, 129, 127, 255]


def test_dequantize_inverts_within_half_a_step():
    rng = np.random.default_rng(0)
    v = rng.uniform(-20, 20, 10_000)
    back = dequantize(quantize(v))
    assert back.dtype == np.float32
    assert np.abs(back - v).max() <= 20.0 / 255.0 + 1e-6
    assert dequantize(np.array([0, 128, 255], np.uint8)).tolist() == pytest.approx([-20.0, 0.0784314, 20.0], abs=1e-6)


def test_other_bound_and_shape():
    flow = np.full((4, 5, 2), 5.0, np.float32)
    q = quantize(flow, bound=10)
    assert q.shape == (4, 5, 2) and q.dtype == np.uint8
    assert int(q[0, 0, 0]) == round(255 * 15 / 20)


@pytest.mark.parametrize("bound", [0, -1.0])
def test_bad_bound(bound):
    with pytest.raises(FlowError, match="bound must be > 0"):
        quantize(np.zeros(3), bound=bound)
