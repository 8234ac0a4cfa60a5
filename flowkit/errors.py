"""Exceptions raised by flowkit.

Every error derives from :class:`FlowkitError`; each subclass also inherits the builtin that
fits it, so ``except ValueError`` or ``except OSError`` keeps working for callers that do not
know flowkit.
"""

from __future__ import annotations

__all__ = [
    "ExtractionError",
    "FloFormatError",
    "FlowError",
    "FlowkitError",
    "ImageEncodeError",
    "ImageReadError",
    "OutputBusyError",
    "OutputConflictError",
    "OutputError",
    "ResizeError",
    "ShardError",
    "SynthError",
    "VideoError",
    "VideoListError",
]


class FlowkitError(Exception):
    """Base class of all flowkit errors."""


class FlowError(FlowkitError, ValueError):
    """Bad input or settings for a flow computation (shape, dtype, values, method, backend)."""


class _FileError(FlowkitError):
    """An error about one file; ``str()`` gives ``"<filename>: <reason>"``.

    Attributes:
        filename: the offending file.
        reason: what is wrong with it.
    """

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason

    def __str__(self) -> str:
        # OSError would print "[Errno None] None: <filename>" once filename is set
        return f"{self.filename}: {self.reason}"

    def __reduce__(self) -> tuple:
        # subclasses rewrite ``reason`` in __init__; rebuild from the final values unchanged, so
        # errors cross process boundaries (extraction workers) intact
        return _restore, (type(self), self.filename, self.reason)


def _restore(cls: type[_FileError], filename: str, reason: str) -> _FileError:
    error = cls.__new__(cls)
    _FileError.__init__(error, filename, reason)
    return error


class FloFormatError(_FileError, ValueError):
    """A file is not a valid Middlebury ``.flo`` file."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(filename, f"not a valid .flo file: {reason}")


class ImageReadError(_FileError, OSError):
    """An image file is missing or cannot be decoded."""


class ImageEncodeError(FlowkitError, ValueError):
    """An image cannot be encoded: its pixels are not uint8 gray or RGB, or the file extension
    names no image format."""


class VideoError(_FileError, OSError):
    """A video cannot be opened, has no video stream, or fails to decode."""


class ShardError(_FileError, OSError):
    """An HDF5 shard cannot be read, or holds no video of the id asked for."""


class VideoListError(FlowkitError, ValueError):
    """A video folder or list is unusable: missing, unreadable, or an entry escapes the output."""


class ExtractionError(FlowkitError, ValueError):
    """Settings for an extraction run that cannot work (options, or an output folder made differently)."""


class ResizeError(ExtractionError, VideoListError):
    """A frame resize that cannot work (both a short side and a size, or too small a size).

    A settings error, hence an :class:`ExtractionError`; also a :class:`VideoListError`, which
    flowkit 0.1 raised for it, so that callers catching that keep working.
    """


class OutputError(_FileError, OSError):
    """An output file cannot be written (full disk, permissions); the run stops, nothing half-done counts."""


class OutputConflictError(ExtractionError):
    """A video's output would land on something tsf did not make for it: a source path, another
    video's output, an unrelated file, or one of tsf's own bookkeeping files. Raised before any work."""


class OutputBusyError(ExtractionError):
    """Another extraction run is working on the same job in the same output folder."""


class SynthError(FlowkitError, ValueError):
    """Settings of the synthetic dataset that cannot work (sizes, counts)."""
