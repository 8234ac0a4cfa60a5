"""fusionnet.data.splits on split files written as UCF101, HMDB51 and users' lists ship them."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from fusionnet import SplitError, check_available, load_split
from fusionnet.data import Split, unsafe_id


def write(path: Path, lines: list[str], newline: str = "\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("".join(line + newline for line in lines).encode())


@pytest.fixture
def ucf(tmp_path: Path) -> Path:
    # as UCF101 ships them: CRLF line ends, "HandStandPushups" in file names and one list's folders
    write(tmp_path / "classInd.txt", ["1 ApplyEyeMakeup", "2 HandstandPushups", "3 YoYo"], "\r\n")
    write(tmp_path / "trainlist01.txt", ["ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1",
                                         "HandstandPushups/v_HandStandPushups_g08_c01.avi 2",
                                         "YoYo/v_YoYo_g25_c05.avi 3"], "\r\n")
    write(tmp_path / "testlist01.txt", ["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
                                        "HandStandPushups/v_HandStandPushups_g01_c01.avi",
                                        "YoYo/v_YoYo_g07_c04.avi"], "\r\n")
    write(tmp_path / "trainlist02.txt", ["YoYo/v_YoYo_g07_c04.avi 3"], "\r\n")
    write(tmp_path / "testlist02.txt", ["YoYo/v_YoYo_g25_c05.avi"], "\r\n")
    return tmp_path


def test_ucf101(ucf: Path) -> None:
    split = load_split("ucf101", ucf, 1)
    assert split.classes == ("ApplyEyeMakeup", "HandstandPushups", "YoYo")
    assert split.train == (("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01", 0),
                           ("HandstandPushups/v_HandStandPushups_g08_c01", 1),
                           ("YoYo/v_YoYo_g25_c05", 2))
    # the test list has no labels: from the class folder, either spelling
    assert split.test == (("ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01", 0),
                          ("HandStandPushups/v_HandStandPushups_g01_c01", 1),
                          ("YoYo/v_YoYo_g07_c04", 2))
    assert load_split("ucf101", ucf, 2) == Split(split.classes, (("YoYo/v_YoYo_g07_c04", 2),),
                                                  (("YoYo/v_YoYo_g25_c05", 2),))


def test_ucf101_ids_take_the_data_spelling(ucf: Path) -> None:
    split = load_split("ucf101", ucf)
    data = [vid for vid, _ in split.train + split.test]
    data[4] = "HandstandPushups/v_HandStandPushups_g01_c01"  # the folder as extracted
    checked = check_available(split, data)
    assert checked.test[1] == ("HandstandPushups/v_HandStandPushups_g01_c01", 1)
    assert checked.train == split.train


def test_hmdb51(tmp_path: Path) -> None:
    # real HMDB51 lines end in a space; flags 1 train, 2 test, 0 unused
    write(tmp_path / "brush_hair_test_split1.txt", [
        "April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1 ",
        "Blonde_being_brushed_brush_hair_f_nm_np2_ri_med_0.avi 2 ",
        "brushing_hair_2_brush_hair_h_nm_np2_le_goo_0.avi 0 "])
    write(tmp_path / "cartwheel_test_split1.txt", [
        "(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0.avi 2 ",
        "#122_Cartwheel_cartwheel_f_cm_np1_ri_med_0.avi 0 ",
        "Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8.avi 1 ",
        "#20_Rhythm_cartwheel_u_nm_np1_fr_goo_0.avi 1 "])
    write(tmp_path / "brush_hair_test_split2.txt", ["April_09_brush_hair_u_nm_np1_ba_goo_0.avi 2 "])
    write(tmp_path / "cartwheel_test_split2.txt", [])
    split = load_split("hmdb51", tmp_path, 1)
    assert split.classes == ("brush_hair", "cartwheel")
    assert split.train == (("brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0", 0),
                           ("cartwheel/Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8", 1),
                           ("cartwheel/#20_Rhythm_cartwheel_u_nm_np1_fr_goo_0", 1))
    assert split.test == (("brush_hair/Blonde_being_brushed_brush_hair_f_nm_np2_ri_med_0", 0),
                          ("cartwheel/(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0", 1))
    second = load_split("hmdb51", tmp_path, 2)
    assert second.test == (("brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0", 0),) and second.train == ()
    write(tmp_path / "cartwheel_test_split1.txt", ["x.avi 3"])
    with pytest.raises(SplitError, match=r"cartwheel_test_split1.txt:1: flag must be 0 \(unused\)"):
        load_split("hmdb51", tmp_path, 1)
    with pytest.raises(SplitError, match="no HMDB51 split files"):
        load_split("hmdb51", tmp_path, 3)


def test_generic_list(tmp_path: Path) -> None:
    write(tmp_path / "classes.txt", ["walking", "running dog"])
    write(tmp_path / "trainlist01.txt", ["# id label", "clips/morning walk 0", "clips/dog1 1", ""])
    write(tmp_path / "testlist01.txt", ["clips/dog2 1"])
    split = load_split("list", tmp_path)
    assert split == Split(("walking", "running dog"), (("clips/morning walk", 0), ("clips/dog1", 1)),
                          (("clips/dog2", 1),))
    write(tmp_path / "testlist01.txt", ["clips/dog2 2"])
    with pytest.raises(SplitError, match=r"testlist01.txt:1: label 2 out of range for 2 classes \(0-based\)"):
        load_split("list", tmp_path)
    write(tmp_path / "testlist01.txt", ["clips/dog2"])
    with pytest.raises(SplitError, match="testlist01.txt:1: expected 2 fields"):
        load_split("list", tmp_path)


def test_load_split_errors(ucf: Path) -> None:
    with pytest.raises(SplitError, match="unknown dataset 'kinetics'; choose one of ucf101, hmdb51, list"):
        load_split("kinetics", ucf)
    with pytest.raises(SplitError, match=f"{ucf / 'trainlist03.txt'}: cannot read split file"):
        load_split("ucf101", ucf, 3)
    assert issubclass(SplitError, ValueError)


def test_check_available_missing(ucf: Path, caplog: pytest.LogCaptureFixture) -> None:
    split = load_split("ucf101", ucf)
    data = ["ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01", "YoYo/v_YoYo_g07_c04"]
    with pytest.raises(SplitError, match=r"4 of 6 videos of the split are not in the data \(first: "
                                         r"HandstandPushups/v_HandStandPushups_g08_c01, YoYo/v_YoYo_g25_c05, "
                                         r"ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01, "
                                         r"HandStandPushups/v_HandStandPushups_g01_c01\).*--allow-missing"):
        check_available(split, data)
    with caplog.at_level(logging.WARNING, logger="fusionnet.data.splits"):
        kept = check_available(split, data, allow_missing=True)
    assert kept.train == (("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01", 0),)
    assert kept.test == (("YoYo/v_YoYo_g07_c04", 2),) and kept.classes == split.classes
    assert "4 of 6 videos" in caplog.text


def test_unsafe_id() -> None:
    assert unsafe_id("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01") is None
    assert unsafe_id("clips/morning walk..mp4") is None  # dots inside a name are no escape
    assert unsafe_id("a/../../etc/passwd") == unsafe_id("..\\x") == "has a '..' component"
    assert unsafe_id("/etc/passwd") == unsafe_id("\\\\server\\x") == unsafe_id("C:x") == "is an absolute path"
    assert unsafe_id("") == "is empty" and unsafe_id("a\0b") == "holds a NUL character"


@pytest.mark.parametrize("line", ["../../outside 0", "/abs/video 0", "clips/../../up 0"])
def test_list_ids_that_leave_the_data_are_refused(tmp_path: Path, line: str) -> None:
    write(tmp_path / "classes.txt", ["walking"])
    write(tmp_path / "trainlist01.txt", ["clips/walk1 0", line])
    write(tmp_path / "testlist01.txt", ["clips/walk2 0"])
    vid = line.rsplit(maxsplit=1)[0]
    with pytest.raises(SplitError, match=rf"trainlist01.txt:2: video id '{re.escape(vid)}' (has a '\.\.' "
                                         r"component|is an absolute path); ids are paths inside the data"):
        load_split("list", tmp_path)


def test_ucf101_and_hmdb51_ids_that_leave_the_data_are_refused(ucf: Path, tmp_path: Path) -> None:
    write(ucf / "trainlist01.txt", ["YoYo/v_YoYo_g25_c05.avi 3", "../../../etc/passwd.avi 3"], "\r\n")
    with pytest.raises(SplitError, match=r"trainlist01.txt:2: video id '../../../etc/passwd' has a '\.\.'"):
        load_split("ucf101", ucf, 1)
    write(ucf / "trainlist01.txt", ["/data/YoYo/v_YoYo_g25_c05.avi 3"], "\r\n")
    with pytest.raises(SplitError, match=r"trainlist01.txt:1: video id '/data/YoYo/v_YoYo_g25_c05' is an "
                                         "absolute path"):
        load_split("ucf101", ucf, 1)
    hmdb = tmp_path / "hmdb"
    write(hmdb / "brush_hair_test_split1.txt", ["a.avi 1 ", "../../../secret.avi 2 "])
    with pytest.raises(SplitError, match=r"brush_hair_test_split1.txt:2: video id "
                                         r"'brush_hair/../../../secret' has a '\.\.' component"):
        load_split("hmdb51", hmdb, 1)


def test_split_file_not_in_utf8(tmp_path: Path) -> None:
    write(tmp_path / "classes.txt", ["walking"])
    (tmp_path / "trainlist01.txt").write_bytes(b"clips/caf\xe9 0\n")
    with pytest.raises(SplitError, match=r"trainlist01.txt: not a text file in UTF-8 \(byte 9"):
        load_split("list", tmp_path)
