import numpy as np
import pytest

from flowkit import FloFormatError, FlowError, read_flo, write_flo


def test_round_trip(tmp_path):
    flow = np.random.default_rng(0).normal(size=(7, 11, 2)).astype(np.float32)
    path = tmp_path / "a.flo"
    write_flo(path, flow)
    assert path.stat().st_size == 12 + 7 * 11 * 8
    np.testing.assert_array_equal(read_flo(path), flow)
    assert not [p for p in tmp_path.iterdir() if p.name != "a.flo"]  # no temporary left behind


def test_layout_is_middlebury(tmp_path):
    flow = np.zeros((2, 3, 2), np.float32)
    flow[0, 1] = (1.5, -2.5)
    write_flo(tmp_path / "b.flo", flow)
    raw = (tmp_path / "b.flo").read_bytes()
    assert np.frombuffer(raw[:4], "<f4")[0] == np.float32(202021.25)
    assert np.frombuffer(raw[4:12], "<i4").tolist() == [3, 2]
    assert np.frombuffer(raw[12:], "<f4")[2:4].tolist() == [1.5, -2.5]


def test_reads_shared_ground_truth(shared_data):
    flow = read_flo(shared_data / "flow-gt/flyingchairs/0000000/0000000-gt.flo")
    assert flow.shape == (384, 512, 2) and np.isfinite(flow).all()


@pytest.mark.parametrize("payload, message", [
    (b"abc", "shorter than the 12-byte header"),
    (np.float32(1.0).tobytes() + np.int32([2, 2]).tobytes(), "magic number"),
    (np.float32(202021.25).tobytes() + np.int32([2, 2]).tobytes() + b"\0" * 8, "expected 44"),
    (np.float32(202021.25).tobytes() + np.int32([-2, 2]).tobytes(), "implausible size"),
])
def test_bad_files(tmp_path, payload, message):
    path = tmp_path / "bad.flo"
    path.write_bytes(payload)
    with pytest.raises(FloFormatError, match=message) as info:
        read_flo(path)
    assert info.value.filename == str(path)


def test_write_rejects_wrong_shape(tmp_path):
    with pytest.raises(FlowError, match=r"\(H, W, 2\)"):
        write_flo(tmp_path / "x.flo", np.zeros((4, 4)))
