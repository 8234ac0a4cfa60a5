"""fusionnet.data's frame stores and datasets on videos encoded here and extracted by `tsf extract-flow`."""

from __future__ import annotations

import json
import pickle
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from helpers.cli import tsf
from helpers.videos import make_source
from torch.utils.data import DistributedSampler, RandomSampler

from fusionnet import (
    ClipDataset,
    ConfigError,
    DataError,
    SamplingConfig,
    make_loader,
    open_frames,
)
from fusionnet.data import EpochSampler, RawframeStore, ShardStore, crop_box, iter_batches, temporal_indices

VIDEOS = {"ClassA/v_long.avi": 30, "ClassA/v_short.avi": 4, "ClassB/v_mid.avi": 12}
IDS = ["ClassA/v_long", "ClassA/v_short", "ClassB/v_mid"]
SMALL = SamplingConfig(num_frames=3, flow_frames=4, stride=(1, 5), input_size=32)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same three videos extracted once as rawframe folders and once as HDF5 shards (48x64)."""
    root = tmp_path_factory.mktemp("data")
    source = make_source(root / "src", VIDEOS)
    outs = {}
    for fmt in ("jpeg", "hdf5"):
        outs[fmt] = root / fmt
        done = tsf("extract-flow", source, outs[fmt], "--short-side", "48", "--backend", "opencv",
                   "--format", fmt, "--jobs", "2", "--quiet")
        assert done.returncode == 0, done.stderr
    return outs


def dataset(root: Path, config: SamplingConfig = SMALL, train: bool = True, seed: int = 0) -> ClipDataset:
    return ClipDataset(root, [(vid, label) for label, vid in enumerate(IDS)], config, train=train, seed=seed)


# frame stores

def test_open_frames_detects_the_format(extracted: dict[str, Path], tmp_path: Path) -> None:
    assert isinstance(open_frames(extracted["jpeg"]), RawframeStore)
    assert isinstance(open_frames(extracted["hdf5"]), ShardStore)  # it has an annotations.txt too
    with pytest.raises(DataError, match=f"{tmp_path}: not an output of `tsf extract-flow`"):
        open_frames(tmp_path)


def test_stores_return_identical_frames(extracted: dict[str, Path]) -> None:
    raw, shards = open_frames(extracted["jpeg"]), open_frames(extracted["hdf5"])
    assert raw.ids() == shards.ids() == IDS
    for vid, count in zip(IDS, (30, 4, 12)):
        assert raw.num_frames(vid) == shards.num_frames(vid) == count
        assert raw.num_flows(vid) == shards.num_flows(vid) == count - 1
        frames, flows = [count - 1, 0, 2, 2], [count - 2, 1, 1, 0]  # unordered, repeated
        rgb, flow = raw.rgb(vid, frames), raw.flow(vid, flows)
        assert rgb.shape == (4, 48, 64, 3) and rgb.dtype == np.uint8
        assert flow.shape == (4, 48, 64, 2) and flow.dtype == np.uint8
        np.testing.assert_array_equal(shards.rgb(vid, frames), rgb)
        np.testing.assert_array_equal(shards.flow(vid, flows), flow)
    folder = extracted["jpeg"] / "ClassB/v_mid"
    # 0-based index k is file k + 1; RGB order, flow channels (x, y)
    np.testing.assert_array_equal(raw.rgb("ClassB/v_mid", [3])[0],
                                  cv2.imread(str(folder / "img_00004.jpg"))[..., ::-1])
    np.testing.assert_array_equal(raw.flow("ClassB/v_mid", [5])[0, ..., 1],
                                  cv2.imread(str(folder / "flow_y_00006.jpg"), cv2.IMREAD_GRAYSCALE))


def test_store_errors(extracted: dict[str, Path]) -> None:
    for fmt in ("jpeg", "hdf5"):
        store = open_frames(extracted[fmt])
        with pytest.raises(DataError, match="frame index 4 out of range for 'ClassA/v_short'"):
            store.rgb("ClassA/v_short", [0, 4])
        with pytest.raises(DataError, match="flow index -1 out of range"):
            store.flow("ClassA/v_short", [-1])
        with pytest.raises(DataError, match="no finished video 'nope'"):
            store.num_frames("nope")


def test_shard_store_pickles_without_handles(extracted: dict[str, Path]) -> None:
    store = open_frames(extracted["hdf5"])
    before = store.flow("ClassB/v_mid", [0, 1])  # opens a shard in this process
    copy = pickle.loads(pickle.dumps(store))
    assert copy._files == {}
    np.testing.assert_array_equal(copy.flow("ClassB/v_mid", [0, 1]), before)
    store.close()
    copy.close()


# temporal sampling

def test_temporal_indices_stride_range_and_consecutive_flows() -> None:
    config = SamplingConfig(num_frames=5, flow_frames=10, stride=(2, 6))
    strides, starts = set(), set()
    for seed in range(200):
        frames, flows = temporal_indices(100, 99, config, np.random.default_rng(seed))
        steps = set(np.diff(frames).tolist())
        assert len(steps) == 1 and 2 <= steps.pop() <= 6
        strides.add(int(frames[1] - frames[0]))
        starts.add(int(frames[0]))
        np.testing.assert_array_equal(flows, frames[:, None] + np.arange(10))  # L flows from each frame
        assert flows.max() <= 98
    assert strides == {2, 3, 4, 5, 6}
    assert min(starts) == 0 and max(starts) > 50


def test_temporal_indices_short_videos_clamp() -> None:
    config = SamplingConfig(num_frames=5, flow_frames=10, stride=(5, 15))
    for frames_n, flows_n in ((4, 3), (1, 0), (20, 19)):
        for seed in range(20):
            frames, flows = temporal_indices(frames_n, max(flows_n, 1), config, np.random.default_rng(seed))
            assert frames.shape == (5,) and flows.shape == (5, 10)
            assert 0 <= frames.min() and frames.max() < frames_n and flows.max() < max(flows_n, 1)
            assert np.all(np.diff(frames) >= 0) and np.all(np.diff(flows, axis=1) >= 0)
    # 19 flows: the drawn stride (>= 5) shrinks to (19 - 10) // 4 = 2 so that no index is clamped
    for seed in range(10):
        frames, flows = temporal_indices(20, 19, config, np.random.default_rng(seed))
        np.testing.assert_array_equal(np.diff(frames), [2, 2, 2, 2])
        np.testing.assert_array_equal(flows, frames[:, None] + np.arange(10))


def test_temporal_indices_evaluation_is_centred() -> None:
    config = SamplingConfig(num_frames=3, flow_frames=10, stride=(1, 9))  # middle stride 5
    frames, _ = temporal_indices(101, 100, config, None)
    np.testing.assert_array_equal(frames, [40, 45, 50])  # 20 flows span 40..59, centred in 0..99
    rgb_only = SamplingConfig(streams=("rgb",), num_frames=1)
    assert temporal_indices(31, 30, rgb_only, None)[0].tolist() == [15]


# spatial augmentation

def test_crop_box_jitter_bounds() -> None:
    config = SamplingConfig(input_size=224)
    sizes = set()
    for seed in range(300):
        x, y, w, h = crop_box(256, 340, config, np.random.default_rng(seed))
        assert 168 <= w <= 280 and 168 <= h <= 256  # 224 +- 25%, clipped to the frame
        assert 0 <= x <= 340 - w and 0 <= y <= 256 - h
        assert min(x, 340 - w - x) <= 0.25 * 340 and min(y, 256 - h - y) <= 0.25 * 256
        sizes.add((w, h))
    assert len({w for w, _ in sizes}) > 30 and any(w != h for w, h in sizes)  # aspect changes


def test_crop_box_corners_and_evaluation() -> None:
    config = SamplingConfig(input_size=32, crop="corners")
    places = set()
    for seed in range(100):
        x, y, w, h = crop_box(48, 64, config, np.random.default_rng(seed))
        places.add({(0, 0): "tl", (64 - w, 0): "tr", (0, 48 - h): "bl", (64 - w, 48 - h): "br",
                    ((64 - w) // 2, (48 - h) // 2): "c"}[(x, y)])
    assert places == {"tl", "tr", "bl", "br", "c"}
    assert crop_box(48, 64, config, None) == (8, 0, 48, 48)


def write_pattern(root: Path, frames: int = 6) -> str:
    """A rawframe folder whose pixels tell where they came from: R and flow x = 4 x, G and flow y = 4 y,
    B = 20 + 30 k in frame k."""
    vid = "pattern/v_ramp"
    folder = root / vid
    folder.mkdir(parents=True)
    y, x = np.mgrid[0:48, 0:64]
    for k in range(frames):
        rgb = np.stack([4 * x, 4 * y, np.full_like(x, 20 + 30 * k)], axis=-1).astype(np.uint8)
        cv2.imwrite(str(folder / f"img_{k + 1:05d}.jpg"), rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 100])
    for k in range(frames - 1):
        for kind, ramp in (("flow_x", 4 * x), ("flow_y", 4 * y)):
            cv2.imwrite(str(folder / f"{kind}_{k + 1:05d}.jpg"), ramp.astype(np.uint8),
                        [cv2.IMWRITE_JPEG_QUALITY, 100])
    (folder / "meta.json").write_text(json.dumps({"num_frames": frames, "num_flows": frames - 1}))
    (root / "annotations.txt").write_text(f"{vid} {frames} -1\n")
    return vid


def recovered_span(ramp: np.ndarray, size: int) -> tuple[float, float]:
    """(offset, length) of the source span a bilinear resize of a ``4 * x`` ramp (last axis) came from."""
    # output pixel j samples source x = offset + (j + 0.5) * length / size - 0.5; skip the clamped ends
    j = np.arange(2, size - 2)
    slope, intercept = np.polyfit(j, ramp.reshape(-1, size).mean(axis=0)[2:-2] / 4, 1)
    length = slope * size
    return intercept - 0.5 * length / size + 0.5, length


def test_same_crop_for_every_frame_and_both_streams(tmp_path: Path) -> None:
    vid = write_pattern(tmp_path)
    config = SamplingConfig(num_frames=3, flow_frames=2, stride=(1, 2), input_size=32)
    data = ClipDataset(tmp_path, [(vid, 0)], config)
    flips = set()
    for epoch in range(8):
        plan = data.plan(0, epoch)
        sample = data[(0, epoch)]
        x, y, w, h = plan.box
        rgb = sample["rgb"].numpy() + np.float32(config.rgb_mean)[:, None, None, None]
        flow = sample["flow"].numpy() + 128
        if plan.flip:  # undo the flip: mirror back, and 255 - q back to q
            rgb, flow = rgb[..., ::-1], flow[..., ::-1].copy()
            flow[0::2] = 255 - flow[0::2]
        flips.add(plan.flip)
        for t in range(3):
            assert abs(rgb[2, t].mean() - (20 + 30 * plan.frames[t])) < 2  # frame t of the plan, in order
            spans = [recovered_span(rgb[0, t], 32), recovered_span(rgb[1, t].T, 32)]
            for c in range(2):  # u1, v1, u2, v2: x ramps at even channels, y ramps at odd ones
                spans += [recovered_span(flow[2 * c, t], 32), recovered_span(flow[2 * c + 1, t].T, 32)]
            for i, (offset, length) in enumerate(spans):
                expected = (x, w) if i % 2 == 0 else (y, h)
                np.testing.assert_allclose((offset, length), expected, atol=0.6)
    assert flips == {False, True}


def test_flip_negates_x_flow_exactly(extracted: dict[str, Path]) -> None:
    flipping = dataset(extracted["hdf5"])
    plain = dataset(extracted["hdf5"], SamplingConfig(**{**SMALL.to_dict(), "flip": False}))
    seen = set()
    for epoch in range(6):
        plan = flipping.plan(0, epoch)
        assert plan.box == plain.plan(0, epoch).box  # the flip draw does not shift the others
        a, b = flipping[(0, epoch)], plain[(0, epoch)]
        seen.add(plan.flip)
        if not plan.flip:
            assert torch.equal(a["rgb"], b["rgb"]) and torch.equal(a["flow"], b["flow"])
            continue
        assert torch.equal(a["rgb"], b["rgb"].flip(-1))
        # (255 - q) - 128 == -(q - 128) - 1
        assert torch.equal(a["flow"][0::2], -b["flow"][0::2].flip(-1) - 1)
        assert torch.equal(a["flow"][1::2], b["flow"][1::2].flip(-1))
    assert seen == {False, True}


# the dataset

def test_sample_shapes_and_streams(extracted: dict[str, Path]) -> None:
    sample = dataset(extracted["jpeg"])[2]
    assert sample["rgb"].shape == (3, 3, 32, 32) and sample["rgb"].dtype == torch.float32
    assert sample["flow"].shape == (8, 3, 32, 32) and sample["flow"].dtype == torch.float32
    assert (sample["label"], sample["index"]) == (2, 2)
    flow_only = dataset(extracted["jpeg"], SamplingConfig(streams=("flow",), flow_frames=10, input_size=24))
    short = flow_only[1]  # 3 flows for a 10-flow stack: clamped
    assert set(short) == {"flow", "label", "index"} and short["flow"].shape == (20, 1, 24, 24)
    rgb_only = dataset(extracted["jpeg"], SamplingConfig(streams=("rgb",), num_frames=5, input_size=24))
    assert set(rgb_only[1]) == {"rgb", "label", "index"} and rgb_only[1]["rgb"].shape == (3, 5, 24, 24)
    with pytest.raises(IndexError):
        flow_only[3]


def test_samples_are_a_function_of_seed_epoch_index(extracted: dict[str, Path]) -> None:
    raw, shards = dataset(extracted["jpeg"]), dataset(extracted["hdf5"])
    for item in ((0, 0), (0, 3), (2, 1)):
        a, b = raw[item], shards[item]
        assert torch.equal(a["rgb"], b["rgb"]) and torch.equal(a["flow"], b["flow"])
    assert torch.equal(raw[0]["flow"], raw[(0, 0)]["flow"])
    boxes = {raw.plan(0, epoch).box for epoch in range(4)}
    assert len(boxes) > 1
    assert not torch.equal(raw[(0, 0)]["rgb"], raw[(0, 1)]["rgb"])
    assert raw.plan(0, 0).box != dataset(extracted["jpeg"], seed=1).plan(0, 0).box


def test_evaluation_is_deterministic(extracted: dict[str, Path]) -> None:
    data = dataset(extracted["jpeg"], train=False)
    plans = [data.plan(0, epoch) for epoch in range(3)]
    assert all(p.box == (8, 0, 48, 48) and not p.flip for p in plans)
    assert torch.equal(data[(0, 0)]["rgb"], data[(0, 5)]["rgb"])


def test_dataset_errors(extracted: dict[str, Path]) -> None:
    with pytest.raises(DataError, match="1 videos not in the data .first: ClassC/v_gone."):
        ClipDataset(extracted["jpeg"], [("ClassA/v_long", 0), ("ClassC/v_gone", 1)], SMALL)
    with pytest.raises(ConfigError, match="stride"):
        SamplingConfig(stride=(5, 2))
    with pytest.raises(ConfigError, match="streams"):
        SamplingConfig(streams=("depth",))
    with pytest.raises(ConfigError, match="unknown SamplingConfig fields: colour"):
        SamplingConfig.from_dict({"colour": True})
    assert SamplingConfig.from_dict(json.loads(json.dumps(SMALL.to_dict()))) == SMALL


# samplers and loaders

def test_epoch_sampler() -> None:
    inner = DistributedSampler(range(10), num_replicas=2, rank=0, shuffle=True, seed=3)
    sampler = EpochSampler(inner)
    sampler.set_epoch(4)
    assert inner.epoch == 4 and len(sampler) == 5
    assert all(epoch == 4 for _, epoch in sampler)
    shuffled = EpochSampler(RandomSampler(range(20), generator=torch.Generator().manual_seed(7)))
    first = list(shuffled)
    list(shuffled)  # a pass advances the generator; the next epoch-0 pass must not depend on it
    assert list(shuffled) == first
    shuffled.set_epoch(1)
    assert [i for i, _ in shuffled] != [i for i, _ in first]
    fresh = EpochSampler(RandomSampler(range(20), generator=torch.Generator().manual_seed(7)), epoch=1)
    assert list(fresh) == list(shuffled)  # a resumed run sees the same order


def test_loader_with_two_workers_over_shards(extracted: dict[str, Path]) -> None:
    data = dataset(extracted["hdf5"])
    data.store.rgb(IDS[0], [0])  # a handle open in this process before the workers fork
    loader = make_loader(data, batch_size=2, workers=2, shuffle=True, seed=5, pin_memory=False)
    assert isinstance(loader.sampler, EpochSampler) and loader.persistent_workers
    for epoch in (0, 1):
        loader.sampler.set_epoch(epoch)
        indices = []
        for batch in loader:
            assert batch["rgb"].shape[1:] == (3, 3, 32, 32) and batch["flow"].shape[1:] == (8, 3, 32, 32)
            for row, index in enumerate(batch["index"].tolist()):
                expected = data[(index, epoch)]
                assert torch.equal(batch["rgb"][row], expected["rgb"])
                assert torch.equal(batch["flow"][row], expected["flow"])
                assert batch["label"][row] == expected["label"]
                indices.append(index)
        assert sorted(indices) == [0, 1, 2]


# damaged and hostile inputs

def test_damaged_frames_name_their_file(extracted: dict[str, Path], tmp_path: Path) -> None:
    data = shutil.copytree(extracted["jpeg"], tmp_path / "jpeg")
    (data / "ClassB/v_mid/img_00002.jpg").write_bytes(b"")  # OpenCV asserts on an empty buffer
    (data / "ClassB/v_mid/flow_y_00003.jpg").write_bytes(b"not a jpeg")
    store = open_frames(data)
    with pytest.raises(DataError, match=rf"^{data}/ClassB/v_mid/img_00002.jpg: not a readable JPEG"):
        store.rgb("ClassB/v_mid", [0, 1])
    with pytest.raises(DataError, match=r"/ClassB/v_mid/flow_y_00003.jpg: not a readable JPEG"):
        store.flow("ClassB/v_mid", [2])


def test_worker_errors_come_back_in_one_line(extracted: dict[str, Path], tmp_path: Path) -> None:
    data = shutil.copytree(extracted["jpeg"], tmp_path / "jpeg")
    for frame in (data / "ClassB/v_mid").glob("img_*.jpg"):
        frame.write_bytes(b"garbage")
    loader = make_loader(dataset(data), batch_size=3, workers=2, pin_memory=False)
    with pytest.raises(DataError) as caught:
        for _ in iter_batches(loader):
            pass
    message = str(caught.value)
    assert re.fullmatch(rf"{data}/ClassB/v_mid/img_\d{{5}}\.jpg: not a readable JPEG \(empty, truncated or "
                        r"damaged\); extract this video again", message), message
    assert "Traceback" in str(caught.value.__cause__)  # the worker's, kept for debugging


@pytest.mark.parametrize(("line", "problem"), [("../../etc 10 0", "has a '..' component"),
                                               ("/etc 10 0", "is an absolute path")])
def test_annotation_ids_that_leave_the_data_are_refused(tmp_path: Path, line: str, problem: str) -> None:
    (tmp_path / "annotations.txt").write_text(f"ClassA/v_long 30 0\n{line}\n")
    vid = line.split()[0]
    with pytest.raises(DataError, match=rf"annotations.txt:2: video id '{re.escape(vid)}' {problem}; ids are "
                                        "paths inside the data folder"):
        open_frames(tmp_path)


def test_shard_paths_that_leave_the_data_are_refused(tmp_path: Path) -> None:
    (tmp_path / "shards").mkdir()
    row = {"id": "ClassA/v_long", "num_frames": 30, "num_flows": 29, "shard": "../elsewhere/shard-0.h5"}
    (tmp_path / "index.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"index.jsonl:1: shard path '../elsewhere/shard-0.h5' has a '\.\.'"):
        open_frames(tmp_path)


def test_annotations_not_in_utf8(tmp_path: Path) -> None:
    (tmp_path / "annotations.txt").write_bytes(b"ClassA/caf\xe9 30 0\n")
    with pytest.raises(DataError, match=r"annotations.txt: not a text file in UTF-8 \(byte 10"):
        open_frames(tmp_path)
