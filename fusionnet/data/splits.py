"""Train/test splits of UCF101, HMDB51 and users' own lists, with ids as flowkit names them.

A flowkit id is a video's path under the extraction's source folder without its extension
(``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01``), so the split files must be read relative to a
source folder laid out as the datasets ship (one folder per class).

Formats (``dataset``):

- ``"ucf101"``: ``classInd.txt`` (``1 ApplyEyeMakeup``), ``trainlist0N.txt``
  (``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1``, 1-based labels) and ``testlist0N.txt``
  (no label: it comes from the class folder). UCF101 spells one class both ``HandstandPushups``
  and ``HandStandPushups``; the lists are matched in either spelling, and :func:`check_available`
  takes the data's spelling of each id.
- ``"hmdb51"``: ``<class>_test_splitN.txt`` for each class, lines ``<video>.avi <flag>`` with flag
  1 train, 2 test, 0 unused; id ``<class>/<video stem>``; labels index the sorted class names.
- ``"list"``: for users' own data, ``classes.txt`` (one class name per line, label = line index,
  0-based) and ``trainlist0N.txt`` / ``testlist0N.txt`` with ``<id> <label>`` lines (the flowkit
  id, then the integer label). Blank lines and lines starting with ``#`` are skipped (and do not
  count as classes).

Every id must be a relative path below the data folder (:func:`unsafe_id`): an absolute one, or
one with a ``..`` component, is refused with the file and line that hold it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from ..errors import SplitError
from .files import read_text

__all__ = ["DATASETS", "Split", "check_available", "load_split", "unsafe_id"]

DATASETS = ("ucf101", "hmdb51", "list")
_LOG = logging.getLogger(__name__)
# UCF101's one inconsistent class name: classInd.txt and the folders say "HandstandPushups",
# the file names (and some copies' folders) "HandStandPushups"
_UCF_ALIASES = {"HandStandPushups": "HandstandPushups"}
_SHOWN = 5  # ids quoted in an error message
_DRIVE = re.compile(r"^[A-Za-z]:")  # C:x names a Windows drive


@dataclass(frozen=True)
class Split:
    """One train/test split: class names (label = index) and (video id, label) pairs."""

    classes: tuple[str, ...]  # class names, label = index
    train: tuple[tuple[str, int], ...]  # (flowkit id, label)
    test: tuple[tuple[str, int], ...]  # (flowkit id, label)


def load_split(dataset: str, splits_dir: str | os.PathLike, split: int = 1) -> Split:
    """Read split ``split`` (1-based) of ``dataset`` from the files in ``splits_dir``.

    Args:
        dataset: ``"ucf101"``, ``"hmdb51"`` or ``"list"`` (formats in the module docstring).
        splits_dir: the folder holding the split files.
        split: which split, 1 for ``trainlist01.txt`` / ``_test_split1.txt``.

    Raises:
        SplitError: unknown dataset, a missing file, or a malformed line (file and line named).
    """
    if dataset not in DATASETS:
        raise SplitError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if split < 1:
        raise SplitError(f"split numbers start at 1, got {split}")
    folder = Path(splits_dir)
    if dataset == "ucf101":
        return _ucf101(folder, split)
    if dataset == "hmdb51":
        return _hmdb51(folder, split)
    return _generic(folder, split)


def check_available(split: Split, available: Iterable[str], allow_missing: bool = False) -> Split:
    """``split`` restricted to the videos in ``available`` (the ids of the extracted data).

    Ids differing only by UCF101's ``HandStandPushups`` spelling are matched and take the data's
    spelling.

    Raises:
        SplitError: some videos of the split are not available (the count and the first few ids),
            unless ``allow_missing``; then they are dropped with a logged warning.
    """
    by_key = {_ucf_key(v): v for v in available}
    missing: list[str] = []

    def keep(pairs: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
        found = []
        for vid, label in pairs:
            actual = by_key.get(_ucf_key(vid))
            if actual is None:
                missing.append(vid)
            else:
                found.append((actual, label))
        return tuple(found)

    result = replace(split, train=keep(split.train), test=keep(split.test))
    if missing:
        total = len(split.train) + len(split.test)
        what = (f"{len(missing)} of {total} videos of the split are not in the data "
                f"(first: {', '.join(missing[:_SHOWN])})")
        if not allow_missing:
            raise SplitError(f"{what}; extract them, or allow missing videos (--allow-missing)")
        _LOG.warning("%s; training without them", what)
    return result


def unsafe_id(vid: str) -> str | None:
    """Why the video id ``vid`` would read outside the data folder it names a path in, or None.

    An id is a path relative to the data folder (``Class/v_name``): it must not be empty, absolute
    (``/x``, ``\\x``, ``C:x``) or hold a ``..`` component (either separator counts: a Windows copy
    of the data reads ``\\`` as one) or a NUL character.

    Example:
        >>> unsafe_id("Class/v_name") is None, unsafe_id("../secret")
        (True, "has a '..' component")
    """
    if not vid:
        return "is empty"
    if vid.startswith(("/", "\\")) or _DRIVE.match(vid):
        return "is an absolute path"
    if ".." in re.split(r"[/\\]", vid):
        return "has a '..' component"
    if "\0" in vid:
        return "holds a NUL character"
    return None


def _checked(path: Path, number: int, vid: str) -> str:
    """``vid``, refused when :func:`unsafe_id` finds it unsafe (line ``number`` of ``path``)."""
    problem = unsafe_id(vid)
    if problem is not None:
        raise SplitError(f"{path}:{number}: video id {vid!r} {problem}; ids are paths inside the data folder")
    return vid


def _ucf_key(vid: str) -> str:
    for wrong, right in _UCF_ALIASES.items():
        vid = vid.replace(wrong, right)
    return vid


def _ucf101(folder: Path, split: int) -> Split:
    index = folder / "classInd.txt"
    numbered = [_fields(index, number, line, 2) for number, line in _lines(index)]
    classes = tuple(_ucf_key(name) for _, name in numbered)
    if [n for n, _ in numbered] != [str(i) for i in range(1, len(classes) + 1)]:
        raise SplitError(f"{index}: class numbers must run 1, 2, ... in order")
    label_of = {name: i for i, name in enumerate(classes)}
    train_file = folder / f"trainlist{split:02d}.txt"
    train = []
    for number, line in _lines(train_file):
        path, label = _fields(train_file, number, line, 2)
        train.append((_checked(train_file, number, _stem(path)),
                      _label(train_file, number, label, len(classes), base=1)))
    test_file = folder / f"testlist{split:02d}.txt"
    test = []
    for number, line in _lines(test_file):
        path = line.split()[0]
        name = _ucf_key(PurePosixPath(path).parent.as_posix())
        if name not in label_of:
            raise SplitError(f"{test_file}:{number}: class folder {name!r} is not in {index.name}")
        test.append((_checked(test_file, number, _stem(path)), label_of[name]))
    return Split(classes, tuple(train), tuple(test))


def _hmdb51(folder: Path, split: int) -> Split:
    suffix = f"_test_split{split}.txt"
    files = sorted(folder.glob(f"*{suffix}"))
    if not files:
        raise SplitError(f"{folder}: no HMDB51 split files *{suffix}")
    classes = tuple(sorted(f.name[:-len(suffix)] for f in files))
    train, test = [], []
    for label, name in enumerate(classes):
        path = folder / f"{name}{suffix}"
        for number, line in _lines(path):
            video, flag = _fields(path, number, line, 2)
            if flag not in ("0", "1", "2"):
                raise SplitError(f"{path}:{number}: flag must be 0 (unused), 1 (train) or 2 (test), "
                                 f"got {flag!r}")
            if flag != "0":
                vid = _checked(path, number, f"{name}/{_stem(video)}")
                (train if flag == "1" else test).append((vid, label))
    return Split(classes, tuple(train), tuple(test))


def _generic(folder: Path, split: int) -> Split:
    names = folder / "classes.txt"
    classes = tuple(line for _, line in _lines(names, comments=True))
    if len(set(classes)) != len(classes):
        raise SplitError(f"{names}: class names must be distinct")
    parts = []
    for kind in ("train", "test"):
        path = folder / f"{kind}list{split:02d}.txt"
        pairs = []
        for number, line in _lines(path, comments=True):
            vid, label = _fields(path, number, line, 2)
            pairs.append((_checked(path, number, vid), _label(path, number, label, len(classes), base=0)))
        parts.append(tuple(pairs))
    return Split(classes, parts[0], parts[1])


def _lines(path: Path, comments: bool = False) -> list[tuple[int, str]]:
    """(1-based line number, text) of the non-blank lines of ``path``, less ``#`` lines if ``comments``."""
    text = read_text(path, SplitError, " split file")
    # only users' lists have comments: HMDB51 has videos named "#20_Rhythm_clap_..."
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)
            if line.strip() and not (comments and line.lstrip().startswith("#"))]


def _fields(path: Path, number: int, line: str, count: int) -> list[str]:
    # the last field never holds spaces; the first may (users' ids)
    parts = line.rsplit(maxsplit=count - 1)
    if len(parts) != count:
        raise SplitError(f"{path}:{number}: expected {count} fields, got {line!r}")
    return parts


def _label(path: Path, number: int, text: str, num_classes: int, base: int) -> int:
    try:
        label = int(text) - base
    except ValueError:
        raise SplitError(f"{path}:{number}: label {text!r} is not an integer") from None
    if not 0 <= label < num_classes:
        raise SplitError(f"{path}:{number}: label {text} out of range for {num_classes} classes "
                         f"({base}-based)")
    return label


def _stem(path: str) -> str:
    """The flowkit id of a listed video file: its path without the extension."""
    return PurePosixPath(path).with_suffix("").as_posix()
