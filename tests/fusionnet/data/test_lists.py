"""``tsf lists``: MMAction2 list files from a real extraction, read back as MMAction2 1.2.0 reads them."""

from __future__ import annotations

import ast
import json
import logging
import os
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from helpers.cli import ROOT, tsf
from helpers.videos import FAST, make_source

from fusionnet import DataError, SplitError, write_mmaction_lists
from fusionnet.data import find_splits, read_annotations

# the videos extracted: UCF101 and HMDB51 names side by side in one source folder, frame counts
# small but on both sides of the flow clip length 5 (4 frames: 3 flows, fewer than a clip)
VIDEOS = {
    "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi": 9,
    "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi": 6,
    # the data's folder says "Handstand", the file names (and the test list's folder) "HandStand"
    "HandstandPushups/v_HandStandPushups_g08_c01.avi": 12,
    "HandstandPushups/v_HandStandPushups_g01_c01.avi": 4,
    "YoYo/v_YoYo_g25_c05.avi": 13,
    "brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi": 7,
    "brush_hair/Blonde_being_brushed_brush_hair_f_nm_np2_ri_med_0.avi": 5,
    "cartwheel/(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0.avi": 8,
}


def write(path: Path, lines: list[str], newline: str = "\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("".join(line + newline for line in lines).encode())


def ucf_splits(folder: Path) -> Path:
    """UCF101's split files as it ships them (CRLF), for two splits; some videos not extracted."""
    write(folder / "classInd.txt", ["1 ApplyEyeMakeup", "2 HandstandPushups", "3 YoYo"], "\r\n")
    write(folder / "trainlist01.txt", ["ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1",
                                       "ApplyEyeMakeup/v_ApplyEyeMakeup_g09_c02.avi 1",  # not extracted
                                       "HandstandPushups/v_HandStandPushups_g08_c01.avi 2",
                                       "YoYo/v_YoYo_g25_c05.avi 3"], "\r\n")
    write(folder / "testlist01.txt", ["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
                                      "HandStandPushups/v_HandStandPushups_g01_c01.avi",
                                      "YoYo/v_YoYo_g07_c04.avi"], "\r\n")  # the last not extracted
    write(folder / "trainlist02.txt", ["YoYo/v_YoYo_g07_c04.avi 3"], "\r\n")
    write(folder / "testlist02.txt", ["YoYo/v_YoYo_g25_c05.avi"], "\r\n")
    return folder


def hmdb_splits(folder: Path) -> Path:
    """HMDB51's ``<class>_test_split1.txt`` files: lines ending in a space, flags 0/1/2."""
    write(folder / "brush_hair_test_split1.txt", [
        "April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1 ",
        "Blonde_being_brushed_brush_hair_f_nm_np2_ri_med_0.avi 2 ",
        "brushing_hair_2_brush_hair_h_nm_np2_le_goo_0.avi 0 "])
    write(folder / "cartwheel_test_split1.txt", [
        "(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0.avi 2 ",
        "#20_Rhythm_cartwheel_u_nm_np1_fr_goo_0.avi 1 "])  # not extracted
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """One real JPEG extraction of :data:`VIDEOS` and the split folders that name them."""
    root = tmp_path_factory.mktemp("lists")
    source = make_source(root / "src", VIDEOS)
    out = root / "out"
    done = tsf("extract-flow", source, out, *FAST)
    assert done.returncode == 0, done.stderr
    return SimpleNamespace(source=source, out=out, ucf=ucf_splits(root / "ucf"),
                           hmdb=hmdb_splits(root / "hmdb"))


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def copy_bookkeeping(out: Path, to: Path) -> Path:
    """The extraction's bookkeeping files (what ``tsf lists`` reads) in a folder of their own."""
    to.mkdir()
    for p in out.iterdir():
        if p.is_file():
            shutil.copy(p, to / p.name)
    return to


def test_the_extraction_counts(data: SimpleNamespace) -> None:
    frames = {name.rsplit(".", 1)[0]: n for name, n in VIDEOS.items()}
    assert read_annotations(data.out / "annotations.txt") == frames
    assert read_annotations(data.out / "annotations_flow.txt") == {v: n - 1 for v, n in frames.items()}
    for vid, n in frames.items():
        assert (data.out / vid / f"flow_x_{n - 1:05d}.jpg").is_file()
        assert not (data.out / vid / f"flow_x_{n:05d}.jpg").exists()


def test_ucf101_lists(data: SimpleNamespace) -> None:
    done = tsf("lists", data.out, "--dataset", "ucf101", "--splits-dir", data.ucf,
               preexec_fn=lambda: os.umask(0o027))
    assert done.returncode == 0, done.stderr
    lists = data.out / "lists"
    assert sorted(p.name for p in lists.iterdir()) == sorted(
        [f"ucf101_{s}_split_{n}_{m}.txt"
         for s in ("train", "val") for n in (1, 2) for m in ("rawframes", "flow")]
        + ["lists.json"])
    # 0-based labels, sorted by id, the data's spelling of HandstandPushups, missing videos left out
    assert lines(lists / "ucf101_train_split_1_rawframes.txt") == [
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01 9 0",
        "HandstandPushups/v_HandStandPushups_g08_c01 12 1",
        "YoYo/v_YoYo_g25_c05 13 2"]
    assert lines(lists / "ucf101_train_split_1_flow.txt") == [
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01 8 0",
        "HandstandPushups/v_HandStandPushups_g08_c01 11 1",
        "YoYo/v_YoYo_g25_c05 12 2"]
    assert lines(lists / "ucf101_val_split_1_rawframes.txt") == [
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01 6 0",
        "HandstandPushups/v_HandStandPushups_g01_c01 4 1"]
    assert lines(lists / "ucf101_val_split_1_flow.txt") == [
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01 5 0",
        "HandstandPushups/v_HandStandPushups_g01_c01 3 1"]
    assert (lists / "ucf101_train_split_2_flow.txt").read_text() == ""
    assert lines(lists / "ucf101_val_split_2_flow.txt") == ["YoYo/v_YoYo_g25_c05 12 2"]
    # what is missing, per file, on stderr
    err = done.stderr
    assert ("ucf101_train_split_1_rawframes.txt: 1 of 4 split videos not extracted "
            "(first: ApplyEyeMakeup/v_ApplyEyeMakeup_g09_c02)") in err
    assert ("ucf101_val_split_1_flow.txt: 1 of 3 split videos not extracted "
            "(first: YoYo/v_YoYo_g07_c04)") in err
    assert "ucf101_train_split_2_flow.txt: 1 of 1 split videos not extracted" in err
    assert "val_split_2" not in err
    assert err.splitlines()[-1] == (f"lists: ucf101 splits 1, 2: 8 files in {lists}; "
                                    "6 entries left out (not extracted)")
    # the user's umask, not a temporary file's 0600
    assert {oct(p.stat().st_mode & 0o777) for p in lists.iterdir()} == {oct(0o640)}
    record = json.loads((lists / "lists.json").read_text())
    assert record["settings"] == {"data_root": str(data.out.resolve()), "dataset": "ucf101",
                                  "splits_dir": str(data.ucf.resolve()), "out_dir": str(lists.resolve())}
    assert record["splits"] == [1, 2] and record["extraction"] == {"format": "jpeg", "rgb": True, "step": 1}
    row = next(f for f in record["files"] if f["name"] == "ucf101_val_split_1_flow.txt")
    assert row == {"name": "ucf101_val_split_1_flow.txt", "split": 1, "subset": "val", "modality": "flow",
                   "listed": 2, "missing": 1, "first_missing": ["YoYo/v_YoYo_g07_c04"]}
    # deterministic: a second run gives the same bytes; --quiet says nothing
    before = {p.name: p.read_bytes() for p in lists.iterdir()}
    again = tsf("lists", data.out, "--dataset", "ucf101", "--splits-dir", data.ucf, "--quiet")
    assert again.returncode == 0 and again.stderr == "" and again.stdout == ""
    assert {p.name: p.read_bytes() for p in lists.iterdir()} == before


def test_hmdb51_lists_from_python(data: SimpleNamespace, tmp_path: Path) -> None:
    summary = write_mmaction_lists(data.out, "hmdb51", data.hmdb, tmp_path / "mm")
    assert summary.splits == (1,) and summary.dataset == "hmdb51" and summary.notes == ()
    # labels index the sorted class names; flag 0 videos are in no list
    assert lines(tmp_path / "mm/hmdb51_train_split_1_rawframes.txt") == [
        "brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0 7 0"]
    assert lines(tmp_path / "mm/hmdb51_val_split_1_flow.txt") == [
        "brush_hair/Blonde_being_brushed_brush_hair_f_nm_np2_ri_med_0 4 0",
        "cartwheel/(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0 7 1"]
    by_name = {f.path.name: f for f in summary.files}
    assert len(by_name) == 4
    train_flow = by_name["hmdb51_train_split_1_flow.txt"]
    assert (train_flow.split, train_flow.subset, train_flow.modality) == (1, "train", "flow")
    assert (train_flow.listed, train_flow.total) == (1, 2)
    assert train_flow.missing == ("cartwheel/#20_Rhythm_cartwheel_u_nm_np1_fr_goo_0",)
    assert {f.path.name for f in summary.incomplete} == {"hmdb51_train_split_1_rawframes.txt",
                                                         "hmdb51_train_split_1_flow.txt"}
    assert not (data.out / "lists" / "hmdb51_train_split_1_flow.txt").exists()


def test_users_lists_and_whitespace_ids(data: SimpleNamespace, tmp_path: Path) -> None:
    splits = tmp_path / "splits"
    write(splits / "classes.txt", ["# mine", "eyes", "yoyo"])
    write(splits / "trainlist01.txt", ["YoYo/v_YoYo_g25_c05 1", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01 0"])
    write(splits / "testlist01.txt", ["My Videos/clip one 1"])
    write(splits / "trainlist1.txt", ["not/a/split 0"])  # load_split reads trainlist01, never this
    assert find_splits("list", splits) == (1,)
    summary = write_mmaction_lists(data.out, "list", splits, tmp_path / "mm")
    assert lines(tmp_path / "mm/list_train_split_1_flow.txt") == [
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01 8 0", "YoYo/v_YoYo_g25_c05 12 1"]
    assert {f.path.name: f.missing for f in summary.incomplete} == {
        "list_val_split_1_rawframes.txt": ("My Videos/clip one",),
        "list_val_split_1_flow.txt": ("My Videos/clip one",)}
    # once extracted, an id with a space cannot go in a list that MMAction2 splits on whitespace
    out = copy_bookkeeping(data.out, tmp_path / "spaced")
    for name, count in (("annotations.txt", 5), ("annotations_flow.txt", 4)):
        with open(out / name, "a") as f:
            f.write(f"My Videos/clip one {count} -1\n")
    with pytest.raises(DataError, match=r"'My Videos/clip one' holds whitespace"):
        write_mmaction_lists(out, "list", splits, tmp_path / "mm2")


def test_no_rgb_and_hdf5_notes(data: SimpleNamespace, tmp_path: Path) -> None:
    out = copy_bookkeeping(data.out, tmp_path / "out")
    record = json.loads((out / "extract.json").read_text())
    record["settings"].update(rgb=False, format="hdf5")
    (out / "extract.json").write_text(json.dumps(record))
    summary = write_mmaction_lists(out, "ucf101", data.ucf)
    assert {f.modality for f in summary.files} == {"flow"}
    assert sorted(p.name for p in (out / "lists").iterdir() if "rawframes" in p.name) == []
    assert len(summary.notes) == 2 and "no RGB frames (--no-rgb)" in summary.notes[0]
    assert "HDF5 shards" in summary.notes[1]


def test_errors(data: SimpleNamespace, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # OUT not an extraction output: exit 1, one line
    (tmp_path / "empty").mkdir()
    done = tsf("lists", tmp_path / "empty", "--dataset", "ucf101", "--splits-dir", data.ucf)
    assert done.returncode == 1
    assert done.stderr == (f"Error: {tmp_path / 'empty'}: not an output of `tsf extract-flow` "
                           "(no extract.json); pass the OUT folder of an extraction\n")
    # DIR holds no split of the dataset: exit 1
    done = tsf("lists", data.out, "--dataset", "hmdb51", "--splits-dir", data.ucf)
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: {data.ucf}: no hmdb51 split files "
                                  "(such as <class>_test_split1.txt)")
    assert len(done.stderr.splitlines()) == 1
    # a missing folder is a usage error: exit 2
    done = tsf("lists", data.out, "--dataset", "ucf101", "--splits-dir", tmp_path / "nowhere")
    assert done.returncode == 2 and "does not exist" in done.stderr
    # an output folder inside OUT that holds videos
    with pytest.raises(DataError, match=r"holds extracted videos \(YoYo/v_YoYo_g25_c05\)"):
        write_mmaction_lists(data.out, "ucf101", data.ucf, data.out / "YoYo")
    # a malformed split file is named with its line
    bad = copy_bookkeeping(data.ucf, tmp_path / "bad")
    write(bad / "testlist02.txt", ["Nowhere/v_x.avi"])
    with pytest.raises(SplitError, match=r"testlist02.txt:1: class folder 'Nowhere'"):
        write_mmaction_lists(data.out, "ucf101", bad, tmp_path / "mm")
    # a line torn by a crash: the extraction does not count that video done, nor do the lists
    torn = copy_bookkeeping(data.out, tmp_path / "torn")
    with open(torn / "annotations.txt", "a") as f:
        f.write("YoYo/v_YoYo_g07_c04 5")
    with caplog.at_level(logging.WARNING):
        summary = write_mmaction_lists(torn, "ucf101", data.ucf)
    assert "annotations.txt:9: skipped a damaged line" in caplog.text
    val = next(f for f in summary.files if f.path.name == "ucf101_val_split_1_rawframes.txt")
    assert val.missing == ("YoYo/v_YoYo_g07_c04",)
    with pytest.raises(DataError, match="not an annotation file of tsf extract-flow"):
        read_annotations(torn / "extract.json")


def test_output_without_flow_counts(data: SimpleNamespace) -> None:
    # as an older tsf left it: refused, never the frame counts standing in for the flows...
    flow_counts = data.out / "annotations_flow.txt"
    kept = flow_counts.read_bytes()
    flow_counts.unlink()
    try:
        done = tsf("lists", data.out, "--dataset", "ucf101", "--splits-dir", data.ucf)
        assert done.returncode == 1
        assert done.stderr.startswith(f"Error: {data.out}: no annotations_flow.txt (the flow counts)")
        # ...and rerunning the extraction, as the message says, writes them without redoing a video
        rerun = tsf("extract-flow", data.source, data.out, "--short-side", "64", "--backend", "opencv")
        assert rerun.returncode == 0, rerun.stderr
        assert f"0 done, {len(VIDEOS)} skipped, 0 failed" in rerun.stderr.splitlines()[-1]
        assert flow_counts.read_bytes() == kept
    finally:
        if not flow_counts.exists():
            flow_counts.write_bytes(kept)
    assert tsf("lists", data.out, "--dataset", "ucf101", "--splits-dir", data.ucf).returncode == 0


# --- MMAction2 1.2.0, reimplemented: what it asks for, given our lists ------------------------------
# From open-mmlab/mmaction2 at tag v1.2.0: mmaction/datasets/rawframe_dataset.py
# (RawframeDataset.load_data_list, with_offset=False, multi_class=False) and
# mmaction/datasets/transforms/loading.py (SampleFrames with its defaults: temporal_jitter=False,
# twice_sample=False, out_of_bound_opt='loop', keep_tail_frames=False, target_fps=None; RawFrameDecode).


def mm_load_data_list(ann_file: Path, data_prefix: str) -> list[dict]:
    """``RawframeDataset.load_data_list``: ``frame_dir total_frames label`` split on whitespace."""
    data_list = []
    for line in ann_file.read_text().splitlines():  # mmengine's list_from_file
        line_split = line.strip().split()
        video_info = {"frame_dir": os.path.join(data_prefix, line_split[0]),
                      "total_frames": int(line_split[1])}
        label = [int(x) for x in line_split[2:]] or [-1]
        assert len(label) == 1
        video_info["label"] = label[0]
        data_list.append(video_info)
    return data_list


def mm_sample_frames(total_frames: int, clip_len: int, frame_interval: int = 1, num_clips: int = 1,
                     test_mode: bool = False, start_index: int = 1,
                     rng: np.random.RandomState | None = None) -> np.ndarray:
    """``SampleFrames.transform``: the 1-based frame indices (``frame_inds``) of the clips."""
    rng = rng or np.random.RandomState(0)
    # _get_ori_clip_len
    ori_clip_len = (clip_len - 1) * frame_interval + 1 if test_mode else clip_len * frame_interval
    if test_mode:  # _get_test_clips
        if clip_len == 1:  # 2D recognizer
            avg_interval = total_frames / float(num_clips)
            base_offsets = np.arange(num_clips) * avg_interval
            clip_offsets = base_offsets + avg_interval / 2.0
        else:  # 3D recognizer
            max_offset = max(total_frames - ori_clip_len, 0)
            if num_clips > 1:
                offset_between = max_offset / float(num_clips - 1)
                clip_offsets = np.round(np.arange(num_clips) * offset_between)
            else:
                clip_offsets = np.array([max_offset // 2])
    else:  # _get_train_clips
        avg_interval = (total_frames - ori_clip_len + 1) // num_clips
        if avg_interval > 0:
            base_offsets = np.arange(num_clips) * avg_interval
            clip_offsets = base_offsets + rng.randint(avg_interval, size=num_clips)
        elif total_frames > max(num_clips, ori_clip_len):
            clip_offsets = np.sort(rng.randint(total_frames - ori_clip_len + 1, size=num_clips))
        elif avg_interval == 0:
            ratio = (total_frames - ori_clip_len + 1.0) / num_clips
            clip_offsets = np.around(np.arange(num_clips) * ratio)
        else:
            clip_offsets = np.zeros((num_clips,), dtype=np.int32)
    frame_inds = clip_offsets[:, None] + np.arange(clip_len)[None, :] * frame_interval
    frame_inds = np.concatenate(frame_inds).reshape((-1, clip_len))
    frame_inds = np.mod(frame_inds, total_frames)  # out_of_bound_opt='loop'
    frame_inds = np.concatenate(frame_inds) + start_index
    return frame_inds.astype(np.int32)


def mm_frame_files(frame_dir: str, frame_inds: np.ndarray, filename_tmpl: str, modality: str) -> list[str]:
    """``RawFrameDecode.transform``: the files it reads (offset 0)."""
    if modality == "RGB":
        return [os.path.join(frame_dir, filename_tmpl.format(i)) for i in frame_inds]
    return [os.path.join(frame_dir, filename_tmpl.format(c, i)) for i in frame_inds for c in "xy"]


def readme_config() -> dict[str, dict]:
    """The MMAction2 config of README.md's "Training with MMAction2", executed."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Training with MMAction2", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    tree = ast.parse(block)  # only assignments of dict literals: nothing else runs
    assert all(isinstance(node, ast.Assign) for node in tree.body)
    namespace: dict = {}
    exec(compile(tree, "README.md", "exec"), {"__builtins__": {"dict": dict}}, namespace)
    return namespace


def asked_for(config: dict, ann_file: Path, data_root: Path, test_mode: bool, seeds: range,
              num_clips: int | None = None) -> list[str]:
    """Every file a ``RawframeDataset`` built from ``config`` reads, over ``seeds``, for ``ann_file``."""
    assert config["type"] == "RawframeDataset" and config["pipeline"][1]["type"] == "RawFrameDecode"
    sampler = {k: v for k, v in config["pipeline"][0].items() if k != "type"}
    assert config["pipeline"][0]["type"] == "SampleFrames"
    if num_clips is not None:
        sampler["num_clips"] = num_clips
    files = []
    for seed in seeds:
        rng = np.random.RandomState(seed)
        for info in mm_load_data_list(ann_file, str(data_root)):
            inds = mm_sample_frames(info["total_frames"], **sampler, test_mode=test_mode,
                                    start_index=config["start_index"], rng=rng)
            files += mm_frame_files(info["frame_dir"], inds, config["filename_tmpl"],
                                    config.get("modality", "RGB"))
    return files


def test_mmaction_reads_only_files_that_exist(data: SimpleNamespace) -> None:
    config = readme_config()
    rgb, flow = config["rgb_train"], config["flow_train"]
    assert (rgb["filename_tmpl"], flow["filename_tmpl"], flow["modality"]) == (
        "img_{:05}.jpg", "flow_{}_{:05d}.jpg", "Flow")
    assert rgb["start_index"] == flow["start_index"] == 1
    assert rgb["data_prefix"] == flow["data_prefix"] == {"img": "OUT"}
    assert tsf("lists", data.out, "--dataset", "ucf101", "--splits-dir", data.ucf, "--quiet").returncode == 0

    def ann(config: dict, subset: str) -> Path:
        path = Path(config["ann_file"].replace("_train_", f"_{subset}_"))
        assert path.parts[0] == "OUT"
        return data.out.joinpath(*path.parts[1:])

    for cfg in (rgb, flow):
        for subset, split in (("train", "1"), ("val", "1"), ("val", "2")):
            ann_file = Path(str(ann(cfg, subset)).replace("_split_1_", f"_split_{split}_"))
            assert ann_file.is_file(), ann_file
            files = asked_for(cfg, ann_file, data.out, test_mode=False, seeds=range(20))
            files += asked_for(cfg, ann_file, data.out, test_mode=True, seeds=range(1))
            files += asked_for(cfg, ann_file, data.out, test_mode=True, seeds=range(1), num_clips=25)
            assert files and not [f for f in files if not os.path.isfile(f)], ann_file
    # our annotations_flow.txt itself, every video: as good as a list
    ours = data.out / "annotations_flow.txt"
    flow_files = asked_for(flow, ours, data.out, test_mode=False, seeds=range(20))
    flow_files += asked_for(flow, ours, data.out, test_mode=True, seeds=range(1))
    assert len({f.rsplit("/", 1)[0] for f in flow_files}) == len(VIDEOS)
    assert all(os.path.isfile(f) for f in flow_files)
    # and the frame counts of annotations.txt for the flow: every video's last test clip asks for
    # flow_x_<N>.jpg, one past its last flow
    wrong = asked_for(flow, data.out / "annotations.txt", data.out, test_mode=True, seeds=range(1))
    absent = sorted({f for f in wrong if not os.path.isfile(f)})
    expected = sorted(str(data.out / name.rsplit(".", 1)[0] / f"flow_{c}_{n:05d}.jpg")
                      for name, n in VIDEOS.items() for c in "xy")
    assert absent == expected


def test_sample_frames_reimplementation() -> None:
    # MMAction2's own numbers for these settings, worked out from loading.py by hand
    assert mm_sample_frames(10, 1, num_clips=3, test_mode=True).tolist() == [2, 6, 9]
    assert mm_sample_frames(10, 5, num_clips=3, test_mode=True).tolist() == [
        1, 2, 3, 4, 5, 3, 4, 5, 6, 7, 6, 7, 8, 9, 10]
    assert mm_sample_frames(3, 5, num_clips=3, test_mode=True).tolist() == [1, 2, 3, 1, 2] * 3  # loop
    train = mm_sample_frames(12, 5, num_clips=2, rng=np.random.RandomState(3))
    assert len(train) == 10 and 1 <= train.min() and train.max() <= 12
    # avg_interval (7 - 1 + 1) // 3 = 2: one frame drawn from each of [1, 2], [3, 4], [5, 6]
    for seed in range(5):
        first, second, third = mm_sample_frames(7, 1, num_clips=3, rng=np.random.RandomState(seed)).tolist()
        assert first in (1, 2) and second in (3, 4) and third in (5, 6)
    assert mm_sample_frames(4, 1, num_clips=3, rng=np.random.RandomState(0)).tolist() == [1, 2, 3]


def test_hdf5_extraction(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src", {"YoYo/v_YoYo_g25_c05.avi": 6,
                                            "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi": 5})
    out = tmp_path / "h5"
    done = tsf("extract-flow", source, out, "--format", "hdf5", *FAST)
    assert done.returncode == 0, done.stderr
    done = tsf("lists", out, "--dataset", "ucf101", "--splits-dir", ucf_splits(tmp_path / "ucf"))
    assert done.returncode == 0, done.stderr
    assert "note: the extraction is HDF5 shards" in done.stderr
    index = {row["id"]: row for row in map(json.loads, lines(out / "index.jsonl"))}
    assert index["YoYo/v_YoYo_g25_c05"]["num_flows"] == 5
    assert lines(out / "lists/ucf101_val_split_2_flow.txt") == ["YoYo/v_YoYo_g25_c05 5 2"]
    val = "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01"
    assert lines(out / "lists/ucf101_val_split_1_rawframes.txt") == [f"{val} 5 0"]
    assert lines(out / "lists/ucf101_val_split_1_flow.txt") == [f"{val} 4 0"]
