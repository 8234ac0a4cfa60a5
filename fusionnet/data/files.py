"""The small text files of the data (split lists, an extraction's indexes, MMAction2 lists), read and
written with one message per fault, raised as the caller's error type.
"""

from __future__ import annotations

from pathlib import Path

from flowkit import atomic_write

from ..errors import FusionnetError

__all__ = ["read_text", "write_text"]


def read_text(path: Path, error: type[FusionnetError], what: str = "") -> str:
    """The UTF-8 text of ``path``.

    Args:
        path: the file.
        error: the error type to raise (``DataError``, ``SplitError``).
        what: what the file is, for the message (``" split file"`` gives "cannot read split file").

    Raises:
        error: the file cannot be read, or is not UTF-8 text.
    """
    try:
        return path.read_text()
    except OSError as e:
        raise error(f"{path}: cannot read{what}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise error(f"{path}: not a text file in UTF-8 (byte {e.start}: {e.reason})") from e


def write_text(path: Path, text: str, error: type[FusionnetError]) -> None:
    """Replace ``path`` with ``text`` atomically (created with the user's umask).

    Raises:
        error: the file cannot be written (full disk, permissions).
    """
    try:
        atomic_write(path, text.encode())
    except OSError as e:
        raise error(f"{path}: cannot write: {e.strerror or e}") from e
