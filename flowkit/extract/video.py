"""Finding videos in a folder tree and decoding them, frame by frame, with PyAV."""

from __future__ import annotations

import logging
import os
import queue
import re
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path, PurePosixPath

import cv2
import numpy as np

from ..errors import ResizeError, VideoError, VideoListError

_log = logging.getLogger(__name__)
# PyAV hands FFmpeg's messages to the "libav" logger; those a reader does not capture (logged
# after a decoding error) are already part of that error, so they are not printed again
logging.getLogger("libav").addHandler(logging.NullHandler())

__all__ = [
    "VIDEO_EXTENSIONS",
    "Resize",
    "VideoEntry",
    "VideoInfo",
    "VideoReader",
    "find_videos",
    "read_video_list",
]

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".m4v", ".flv")

# UCF101 / HMDB51 split files put a class label after the path: "Class/v_x.avi 1"
_LABELLED = re.compile(r"^(.*\S)\s+-?\d+$")


@dataclass(frozen=True)
class VideoEntry:
    """One video to process: its id (path relative to the source folder, no extension) and path.

    ``error`` is set when listing the source already showed that the entry cannot be processed
    (a folder that cannot be read): the run records it as a failure without opening anything.
    """

    id: str
    path: Path
    error: str | None = None


def _video_id(relative: str, origin: str) -> str:
    """The id of a video at ``relative`` (POSIX, relative to the source); refuses escapes."""
    rel = PurePosixPath(relative.replace(os.sep, "/"))
    if rel.is_absolute() or relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative):
        raise VideoListError(f"{origin}: {relative!r} is an absolute path; list paths relative to SRC")
    if any(part in ("..", "") for part in rel.parts) or rel.name in ("", "."):
        raise VideoListError(f"{origin}: {relative!r} would escape the output folder ('..')")
    return str(rel.with_suffix("")) if rel.suffix.lower() in VIDEO_EXTENSIONS else str(rel)


def find_videos(src: str | os.PathLike) -> list[VideoEntry]:
    """Every video file under ``src`` (recursively, extensions of any case), sorted by id.

    Broken symbolic links are kept, so that they are reported as failures rather than missed. A
    folder that cannot be read becomes an entry with an ``error`` (a failure of the run). Links
    are followed, but no folder is listed twice: a link back into the tree (a loop) or to a
    folder already listed is skipped with one warning.

    Raises:
        VideoListError: ``src`` is not a readable folder, or two files give the same id
            (``a.avi``, ``a.mp4``).
    """
    root = Path(src)
    if not root.is_dir():
        raise VideoListError(f"{root}: not a folder")
    entries: dict[str, VideoEntry] = {}

    def unreadable(error: OSError) -> None:
        folder = Path(error.filename)
        if folder == root:
            raise VideoListError(f"{root}: cannot list the folder: {error.strerror or error}")
        rel = folder.relative_to(root).as_posix()
        entries[rel] = VideoEntry(rel, folder, f"cannot list this folder: {error.strerror or error}")

    listed = {_identity(root): root}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=unreadable):
        # real folders claim their place before links to them do
        first = [d for d in sorted(dirnames, key=lambda d: os.path.islink(os.path.join(dirpath, d)))
                 if _first_visit(Path(dirpath) / d, listed)]
        dirnames[:] = sorted(first)
        for name in filenames:
            if os.path.splitext(name)[1].lower() not in VIDEO_EXTENSIONS:
                continue
            path = Path(dirpath) / name
            vid = _video_id(path.relative_to(root).as_posix(), str(root))
            if vid in entries:
                raise VideoListError(f"{path}: same id {vid!r} as {entries[vid].path}; rename one")
            entries[vid] = VideoEntry(vid, path)
    return [entries[k] for k in sorted(entries)]


def _identity(folder: Path) -> tuple[int, int]:
    info = folder.stat()
    return info.st_dev, info.st_ino


def _first_visit(folder: Path, listed: dict[tuple[int, int], Path]) -> bool:
    """Whether ``folder`` (links followed) is listed for the first time; notes it as listed."""
    try:
        key = _identity(folder)
    except OSError:
        return True  # os.walk reports it through onerror
    if key in listed:
        _log.warning("%s: not followed: it is the folder %s, already listed (a link loop or a second "
                     "link to it)", folder, listed[key])
        return False
    listed[key] = folder
    return True


def read_video_list(src: str | os.PathLike, list_file: str | os.PathLike) -> list[VideoEntry]:
    """The videos named in ``list_file``, one path per line relative to ``src``, sorted by id.

    Blank lines and ``#`` comments are skipped; a trailing class label (``Class/v.avi 12``, as in
    the UCF101 and HMDB51 split files) is ignored. Paths need not exist: a missing video is
    reported when it is processed.

    Raises:
        VideoListError: the list cannot be read, or a line is absolute, escapes with ``..``, or
            repeats an id.
    """
    root, listing = Path(src), Path(list_file)
    try:
        lines = listing.read_text(encoding="utf-8-sig").splitlines()  # a byte-order mark is not a path
    except (OSError, UnicodeDecodeError) as e:
        raise VideoListError(f"{listing}: cannot read the video list: {e}") from e
    entries: dict[str, VideoEntry] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LABELLED.match(line)
        if match and not (root / line).exists():
            line = match.group(1)
        vid = _video_id(line, f"{listing}:{number}")
        if vid in entries:
            raise VideoListError(f"{listing}:{number}: {line!r} repeats the id {vid!r}")
        entries[vid] = VideoEntry(vid, root / line)
    return [entries[k] for k in sorted(entries)]


@dataclass(frozen=True)
class Resize:
    """How frames are resized before flow: ``short_side`` or an exact ``size``, or neither (keep).

    With ``short_side`` the smaller side becomes ``short_side`` and the other keeps the aspect
    ratio, rounded down to an even number (320x240 becomes 340x256, as in the two-stream papers).

    Raises:
        ResizeError: both ``short_side`` and ``size``, a short side under 2 px, or a size under 1 px.
    """

    short_side: int | None = 256
    size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.short_side is not None and self.size is not None:
            raise ResizeError("give a short side or an exact size, not both")
        if self.short_side is not None and self.short_side < 2:
            raise ResizeError(f"short side must be at least 2 pixels, got {self.short_side}")
        if self.size is not None and min(self.size) < 1:
            raise ResizeError(f"size must be positive, got {self.size[0]}x{self.size[1]}")

    def target(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` after resizing a ``width`` x ``height`` frame."""
        if self.size is not None:
            return self.size
        if self.short_side is None:
            return width, height
        if width < height:
            return self.short_side, _even(height * self.short_side / width)
        return _even(width * self.short_side / height), self.short_side

    def describe(self) -> str:
        """``"short side 256"``, ``"340x256"`` or ``"none"``."""
        if self.size is not None:
            return f"{self.size[0]}x{self.size[1]}"
        return f"short side {self.short_side}" if self.short_side is not None else "none"


def _even(x: float) -> int:
    return max(2, 2 * int(x / 2 + 1e-9))


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the video stream (the frame count is never trusted)."""

    width: int
    height: int
    fps: float
    codec: str


class VideoReader:
    """Decode a video's frames as RGB uint8 ``(H, W, 3)`` arrays, in order, resized.

    ``info`` holds the container's description; after the first frame, ``rotation`` (degrees
    counter-clockwise, from the display matrix) and ``source_size`` (``(width, height)`` of the
    first frame as displayed, before resizing) are set. Every frame comes out at the size
    ``resize`` gives the first one: a stream that changes resolution part-way (as concatenated
    or adaptive streams do) has its later frames resized to it, so a video's frames and flows
    share one size. Decoding runs in a background thread, ``prefetch``
    frames ahead, so that the consumer (the flow solver) does not wait for it. Every frame is
    decoded and counted; other streams (audio, subtitles) are ignored; the rotation in the
    container's display matrix is applied. Once the frames are exhausted, ``decode_errors``
    lists what went wrong without stopping the decoder (FFmpeg's error messages, and fewer frames
    than the container declares): a truncated file decodes in part, and this says so.

    Example:
        >>> with VideoReader("v.mp4", Resize(short_side=256)) as video:  # doctest: +SKIP
        ...     frames = list(video)

    Raises:
        VideoError: the file cannot be opened, is not a regular file (a FIFO would block), has
            no video stream, or fails to decode part-way (raised from the iteration, naming the frame).
    """

    def __init__(self, path: str | os.PathLike, resize: Resize = Resize(), prefetch: int = 16) -> None:
        self.path = os.fspath(path)
        self.resize = resize
        import av
        import av.logging

        _check_regular(self.path)
        av.logging.set_level(av.logging.ERROR)
        # opening reads ahead (a short file to its end), so its messages count too
        with av.logging.Capture(local=False) as self._logs:
            try:
                self._container = av.open(self.path)
            except (av.FFmpegError, OSError, UnicodeDecodeError) as e:
                raise VideoError(self.path, f"cannot open: {_reason(e)}") from e
        if not self._container.streams.video:
            self._container.close()
            raise VideoError(self.path, "no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        rate = self._stream.average_rate or self._stream.guessed_rate or Fraction(0)
        self.info = VideoInfo(
            width=self._stream.codec_context.width, height=self._stream.codec_context.height,
            fps=float(rate), codec=self._stream.codec_context.name,
        )
        self.rotation = 0
        self.source_size: tuple[int, int] | None = None
        self.decode_errors: list[str] = []
        self._size: tuple[int, int] | None = None  # (width, height) of every frame out
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the decoding thread and close the file."""
        self._stop.set()
        if self._thread is not None:
            while self._thread.is_alive():
                try:
                    self._queue.get(timeout=0.05)
                except queue.Empty:
                    pass
            self._thread = None
        self._container.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._thread is not None:
            raise VideoError(self.path, "a VideoReader can be iterated once")
        self._thread = threading.Thread(target=self._decode, name="tsf-decode", daemon=True)
        self._thread.start()
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, VideoError):
                raise item
            yield item

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _decode(self) -> None:
        import av.logging

        index = 0
        # FFmpeg logs from its own decoding threads, so only a process-wide capture sees them all;
        # a worker decodes one video at a time
        with av.logging.Capture(local=False) as logs:
            try:
                for frame in self._container.decode(self._stream):
                    image = self._convert(frame)
                    index += 1
                    if not self._put(image):
                        return
            except (av.FFmpegError, OSError, ValueError) as e:
                self._put(VideoError(self.path, f"decoding failed after {index} frames: {_reason(e)}"))
                return
        self.decode_errors = _decode_errors([*self._logs, *logs], index, self._stream.frames)
        self._put(None)

    def _convert(self, frame: object) -> np.ndarray:
        image = frame.to_ndarray(format="rgb24")
        self.rotation = int(getattr(frame, "rotation", 0) or 0)
        turns = round(self.rotation / 90) % 4
        if turns:
            image = np.ascontiguousarray(np.rot90(image, turns))
        height, width = image.shape[:2]
        if self._size is None:
            self.source_size = (width, height)
            self._size = self.resize.target(width, height)
        if self._size != (width, height):
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_LINEAR)
        return image


_FILE_KINDS = {stat.S_ISDIR: "a folder", stat.S_ISFIFO: "a FIFO", stat.S_ISSOCK: "a socket",
               stat.S_ISCHR: "a character device", stat.S_ISBLK: "a block device"}


def _check_regular(path: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise VideoError(path, f"cannot open: {_reason(e)}") from e
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _FILE_KINDS.items() if test(mode)), "not a file")
        raise VideoError(path, f"cannot open: not a regular file ({kind})")


_MAX_ERRORS = 10  # messages kept per video: a damaged file can log one per frame


def _decode_errors(logs: list[tuple[int, str, str]], decoded: int, declared: int) -> list[str]:
    """FFmpeg's error messages (distinct, in order, at most ``_MAX_ERRORS``) and a frame shortfall."""
    import av.logging

    messages = list(dict.fromkeys(f"{name}: {text.strip()}" for level, name, text in logs
                                  if level <= av.logging.ERROR and text.strip()))
    found = messages[:_MAX_ERRORS]
    if len(messages) > _MAX_ERRORS:
        found.append(f"... and {len(messages) - _MAX_ERRORS} more")
    if 0 < decoded < declared:
        found.append(f"decoded {decoded} of the {declared} frames the container declares")
    return found


def _reason(error: BaseException) -> str:
    """An FFmpeg or OS error as a short phrase, without repeating the file name."""
    text = getattr(error, "strerror", None) or str(error)
    return text.split(": '")[0].strip() or type(error).__name__
