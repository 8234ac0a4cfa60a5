"""Turning library errors into command-line messages and exit statuses."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import click

from flowkit import FlowkitError

__all__ = ["library_errors"]


@contextlib.contextmanager
def library_errors(usage: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """Report a :class:`FlowkitError` or :class:`FusionnetError` as one line ``Error: ...``, exit
    status 1; one of the ``usage`` types (settings that cannot work) as a usage error, exit status 2."""
    try:
        yield
    except Exception as e:
        if isinstance(e, usage):
            raise click.UsageError(str(e)) from e
        if isinstance(e, _library_error_types()):
            raise click.ClickException(str(e)) from e
        raise


def _library_error_types() -> tuple[type[Exception], ...]:
    # fusionnet imports torch (over a second): the commands that need it import it when they run,
    # so its errors can only have been raised once it is in sys.modules
    fusionnet = sys.modules.get("fusionnet")
    return (FlowkitError,) if fusionnet is None else (FlowkitError, fusionnet.FusionnetError)
