"""MMAction2 list files for the splits of a dataset, from the outputs of ``tsf extract-flow``.

MMAction2's ``RawframeDataset`` reads lines ``<frame_dir> <total_frames> <label>``, and its
``SampleFrames`` draws frame indices up to ``total_frames`` (1-based with ``start_index=1``). A video
of N frames has N - step flows, so the RGB lists take their counts from ``annotations.txt`` and the
flow lists from ``annotations_flow.txt``; with the frame count, a flow clip would ask for
``flow_x_<N>.jpg``, which does not exist.

:func:`write_mmaction_lists` writes, for every split found in the split folder,
``<dataset>_{train,val}_split_<N>_rawframes.txt`` and ``<dataset>_{train,val}_split_<N>_flow.txt``
(0-based labels, sorted by id, only the videos the extraction finished) and ``lists.json``, the
settings and what each file holds.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from flowkit import __version__
from flowkit.extract import ANNOTATIONS_NAME, FLOW_ANNOTATIONS_NAME, LISTS_DIR, SETTINGS_NAME, read_lines

from ..errors import DataError, SplitError
from .files import write_text
from .splits import DATASETS, Split, check_available, load_split

__all__ = [
    "LISTS_SETTINGS_NAME",
    "ListFile",
    "ListsSummary",
    "find_splits",
    "read_annotations",
    "write_mmaction_lists",
]

# the default output folder is OUT/<flowkit.extract.LISTS_DIR>, a name no video may take
LISTS_SETTINGS_NAME = "lists.json"
_LOG = logging.getLogger(__name__)
_SHOWN = 5  # missing ids quoted per file
# (subset in the file name, Split field): MMAction2's tools name the test half "val"
_SUBSETS = (("train", "train"), ("val", "test"))
# (modality in the file name, annotation file its counts come from)
_MODALITIES = (("rawframes", ANNOTATIONS_NAME), ("flow", FLOW_ANNOTATIONS_NAME))


@dataclass(frozen=True)
class ListFile:
    """One list file written.

    Attributes:
        path: where it was written.
        split: the split number (1-based).
        subset: ``"train"`` or ``"val"`` (the split's test videos).
        modality: ``"rawframes"`` (counts of RGB frames) or ``"flow"`` (counts of flows).
        listed: lines written (split videos the extraction finished).
        missing: the split's videos not in the extraction, in split-file order.
    """

    path: Path
    split: int
    subset: str
    modality: str
    listed: int
    missing: tuple[str, ...]

    @property
    def total(self) -> int:
        """The split's videos in this subset."""
        return self.listed + len(self.missing)


@dataclass(frozen=True)
class ListsSummary:
    """What :func:`write_mmaction_lists` wrote.

    Attributes:
        out_dir: the folder of the list files.
        dataset: ``"ucf101"``, ``"hmdb51"`` or ``"list"``.
        splits: the split numbers found, ascending.
        files: every list file written, by split, subset and modality.
        notes: what the user should know of these lists: lists not written (no RGB frames), an
            HDF5 extraction that MMAction2 cannot read as it is.
    """

    out_dir: Path
    dataset: str
    splits: tuple[int, ...]
    files: tuple[ListFile, ...]
    notes: tuple[str, ...] = ()

    @property
    def incomplete(self) -> tuple[ListFile, ...]:
        """The files that leave out some of their split's videos."""
        return tuple(f for f in self.files if f.missing)


def find_splits(dataset: str, splits_dir: str | os.PathLike) -> tuple[int, ...]:
    """The split numbers whose files are in ``splits_dir``, ascending.

    A split counts when its first file is there: ``trainlist0N.txt`` (``"ucf101"``, ``"list"``)
    or ``<class>_test_splitN.txt`` (``"hmdb51"``); :func:`fusionnet.load_split` then checks the rest.

    Raises:
        SplitError: unknown dataset, or ``splits_dir`` is not a readable folder.
    """
    if dataset not in DATASETS:
        raise SplitError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    folder = Path(splits_dir)
    try:
        names = [p.name for p in folder.iterdir() if p.is_file()]
    except OSError as e:
        raise SplitError(f"{folder}: cannot read the split folder: {e.strerror or e}") from e
    # the names load_split reads: trainlist{N:02d}.txt, {class}_test_split{N}.txt
    pattern = re.compile(r".+_test_split([1-9][0-9]*)\.txt" if dataset == "hmdb51"
                         else r"trainlist(0[1-9]|[1-9][0-9]+)\.txt")
    return tuple(sorted({int(m.group(1)) for m in map(pattern.fullmatch, names) if m}))


def read_annotations(path: str | os.PathLike) -> dict[str, int]:
    """The counts of an extraction's ``annotations.txt`` (frames) or ``annotations_flow.txt`` (flows), by id.

    Read with :func:`flowkit.extract.read_lines`, the extraction's own reader: a line torn by a
    crash is skipped with a logged warning, as the extraction itself does not count that video
    done; a missing file reads as no videos.

    Raises:
        DataError: ``path`` is not named as one of those two files.
        flowkit.OutputError: the file exists but cannot be read.
    """
    path = Path(path)
    if path.name not in (ANNOTATIONS_NAME, FLOW_ANNOTATIONS_NAME):
        raise DataError(f"{path}: not an annotation file of tsf extract-flow "
                        f"({ANNOTATIONS_NAME} or {FLOW_ANNOTATIONS_NAME})")
    # read_lines has checked each line is "<id> <count> <label>"
    return {vid: int(line.rsplit(" ", 2)[1]) for vid, line in read_lines(path).items()}


def write_mmaction_lists(data_root: str | os.PathLike, dataset: str, splits_dir: str | os.PathLike,
                         out_dir: str | os.PathLike | None = None) -> ListsSummary:
    """Write MMAction2 list files for every split in ``splits_dir``, for the videos in ``data_root``.

    Per split N and subset (``train``, and ``val`` for the split's test videos), the files
    ``<dataset>_<subset>_split_<N>_rawframes.txt`` (frame counts) and ``..._flow.txt`` (flow counts),
    lines ``<id> <count> <label>`` with 0-based labels, sorted by id. The id is the video's folder
    under ``data_root`` (MMAction2's ``frame_dir`` with ``data_prefix=dict(img=data_root)``), in
    the data's spelling (UCF101's ``HandStandPushups``). Split videos that are not extracted are
    left out and reported in the summary (and in ``lists.json``). Without RGB frames
    (``--no-rgb``) the rawframes lists are not written. Files are replaced atomically and take the
    permissions of the user's umask.

    Args:
        data_root: the OUT folder of ``tsf extract-flow`` (JPEG or HDF5).
        dataset: ``"ucf101"``, ``"hmdb51"`` or ``"list"`` (formats in :mod:`fusionnet.data.splits`).
        splits_dir: the folder of the split files.
        out_dir: where to write; ``data_root/lists`` when ``None``.

    Returns:
        What was written, and what each file leaves out.

    Raises:
        DataError: ``data_root`` is not an output of ``tsf extract-flow``, it has frame counts
            but no flow counts (an older tsf), an id holds whitespace (MMAction2 splits lines on
            it), ``out_dir`` holds extracted videos, or a file cannot be written.
        SplitError: ``splits_dir`` holds no split of ``dataset``, or a split file is malformed.
        flowkit.OutputError: an annotation file cannot be read.
    """
    root = Path(data_root)
    out = root / LISTS_DIR if out_dir is None else Path(out_dir)
    settings = _extraction_settings(root)
    splits = find_splits(dataset, splits_dir)
    if not splits:
        expected = "<class>_test_split1.txt" if dataset == "hmdb51" else "trainlist01.txt"
        raise SplitError(f"{splits_dir}: no {dataset} split files (such as {expected}); "
                         "pass the folder that holds them with --splits-dir")
    loaded = {n: load_split(dataset, splits_dir, n) for n in splits}

    counts = {modality: _counts(root, name) for modality, name in _MODALITIES}
    notes = []
    if settings.get("rgb") is False:
        del counts["rawframes"]
        notes.append("no rawframes lists: the extraction has no RGB frames (--no-rgb)")
    if settings.get("format") == "hdf5":
        notes.append("the extraction is HDF5 shards: MMAction2's RawFrameDecode reads rawframe folders "
                     "only, so these lists need a loader for the shards (or extract with --format jpeg)")
    _check_out_dir(root, out, counts)

    texts, files = [], []
    for n in splits:  # every list made before any is written: a bad id leaves no half-new set
        for subset, field in _SUBSETS:
            for modality, available in counts.items():
                path = out / f"{dataset}_{subset}_split_{n}_{modality}.txt"
                lines, missing = _list_lines(loaded[n], field, available)
                texts.append("".join(line + "\n" for line in lines))
                files.append(ListFile(path, n, subset, modality, len(lines), missing))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{out}: cannot create the list folder: {e.strerror or e}") from e
    for f, text in zip(files, texts):
        write_text(f.path, text, DataError)

    summary = ListsSummary(out, dataset, splits, tuple(files), tuple(notes))
    record = {
        "settings": {"data_root": str(root.resolve()), "dataset": dataset,
                     "splits_dir": str(Path(splits_dir).resolve()), "out_dir": str(out.resolve())},
        "extraction": {k: settings.get(k) for k in ("format", "rgb", "step")},
        "splits": list(splits),
        "files": [{"name": f.path.name, "split": f.split, "subset": f.subset, "modality": f.modality,
                   "listed": f.listed, "missing": len(f.missing), "first_missing": list(f.missing[:_SHOWN])}
                  for f in files],
        "notes": list(notes),
        "tsf_version": __version__,
    }
    write_text(out / LISTS_SETTINGS_NAME, json.dumps(record, indent=2, sort_keys=True) + "\n", DataError)
    for f in summary.incomplete:
        _LOG.info("%s: %d of %d split videos not extracted (first: %s)", f.path.name, len(f.missing),
                  f.total, ", ".join(f.missing[:_SHOWN]))
    return summary


def _extraction_settings(root: Path) -> dict:
    """The settings in ``root/extract.json``; its presence is what marks an extraction output."""
    path = root / SETTINGS_NAME
    if not path.is_file():
        raise DataError(f"{root}: not an output of `tsf extract-flow` (no {SETTINGS_NAME}); "
                        "pass the OUT folder of an extraction")
    try:
        settings = json.loads(path.read_text())["settings"]
        if not isinstance(settings, dict):
            raise TypeError("settings is not an object")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"{path}: not the settings of an extraction ({e})") from e
    return settings


def _counts(root: Path, name: str) -> dict[str, int]:
    path = root / name
    if path.exists():
        return read_annotations(path)
    if name == FLOW_ANNOTATIONS_NAME and (root / ANNOTATIONS_NAME).exists():
        # an output of a tsf from before annotations_flow.txt: the frame counts must not stand in
        raise DataError(f"{root}: no {FLOW_ANNOTATIONS_NAME} (the flow counts), though {ANNOTATIONS_NAME} "
                        "is there: it was extracted by an older tsf; rerun the same tsf extract-flow "
                        "command, which skips the finished videos and writes it")
    return {}  # no video finished yet


def _check_out_dir(root: Path, out: Path, counts: dict[str, dict[str, int]]) -> None:
    """Refuse an output folder inside OUT that holds videos' folders (``--out-dir OUT/YoYo``)."""
    try:
        inside = out.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return
    clash = sorted(v for c in counts.values() for v in c if v == inside or v.startswith(inside + "/"))
    if clash:
        raise DataError(f"{out}: holds extracted videos ({clash[0]}); write the lists elsewhere (--out-dir)")


def _list_lines(split: Split, field: str, available: dict[str, int]) -> tuple[list[str], tuple[str, ...]]:
    """Sorted ``<id> <count> <label>`` lines of the split's available videos, and the missing ids."""
    pairs = getattr(split, field)
    # check_available gives each id the data's spelling (UCF101's HandStandPushups); with the split's
    # own ids listed before the data's, none is missing, and an id absent from the data keeps its own
    mapped = check_available(Split(split.classes, pairs, ()),
                             [*(v for v, _ in pairs), *sorted(available)]).train
    lines, missing = {}, []
    for vid, label in mapped:
        if vid not in available:
            missing.append(vid)
            continue
        if vid.split() != [vid]:
            raise DataError(f"video id {vid!r} holds whitespace, which MMAction2's list files cannot hold "
                            "(it splits lines on whitespace); rename the video and extract it again")
        lines[vid] = f"{vid} {available[vid]} {label}"
    return [lines[v] for v in sorted(lines)], tuple(missing)

