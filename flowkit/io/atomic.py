"""Atomic file writes: readers see the old file or the whole new one, never a part; and the one
place where a failed write becomes an :class:`~flowkit.OutputError`."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import FlowkitError, OutputError

__all__ = ["atomic_write", "create_temp", "os_reason", "writing"]


def os_reason(error: OSError) -> str:
    """The cause of an OS or HDF5 error in a few words: HDF5 puts the errno inside a long text."""
    found = re.search(r"errno = (\d+)", str(error))
    if found:
        return os.strerror(int(found.group(1)))
    return (error.strerror or str(error)).splitlines()[0]


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Turn an :class:`OSError` in the block into ``OutputError(path, "cannot write: <cause>")``.

    flowkit's own errors (an :class:`OutputError` from a nested block) pass unchanged.

    Raises:
        OutputError: the block failed to write (full disk, permissions), chained to the OS error.
    """
    try:
        yield
    except FlowkitError:
        raise
    except OSError as e:
        raise OutputError(os.fspath(path), f"cannot write: {os_reason(e)}") from e


def create_temp(folder: str | os.PathLike, name: str) -> Path:
    """Create an empty, uniquely named temporary file for ``name`` in ``folder``.

    Unlike :func:`tempfile.mkstemp` (mode 0600), the file gets the mode ``open()`` would give it
    (0666 less the umask), so that a renamed output is readable by whom the user's umask allows.
    """
    while True:  # the name is cut so that a long ``name`` still gives a legal file name
        path = Path(folder) / f".{name[:64]}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return path
        except FileExistsError:
            continue


def atomic_write(path: str | os.PathLike, payload: bytes, tmp_dir: str | os.PathLike | None = None) -> None:
    """Write ``payload`` to a temporary file, flush it, then rename it over ``path``.

    The temporary file lies beside ``path``, or in ``tmp_dir`` (which must be on the same file
    system) so that one cleanup of that folder removes what a killed process left. The file is
    created with the user's umask.
    """
    target = Path(path)
    tmp = create_temp(target.parent if tmp_dir is None else tmp_dir, target.name)
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
