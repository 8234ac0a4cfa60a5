"""Exceptions raised by flowkit.

Every error derives from :class:`FlowkitError`; each subclass also inherits the builtin that
fits it, so ``except ValueError`` or ``except OSError`` keeps working for callers that do not
know flowkit.
"""

from __future__ import annotations

__all__ = ["FloFormatError", "FlowError", "FlowkitError", "ImageReadError"]


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


class FloFormatError(_FileError, ValueError):
    """A file is not a valid Middlebury ``.flo`` file."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(filename, f"not a valid .flo file: {reason}")


class ImageReadError(_FileError, OSError):
    """An image file is missing or cannot be decoded."""
