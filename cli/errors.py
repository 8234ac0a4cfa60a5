"""Turning library errors into command-line messages and exit statuses."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from flowkit import FlowkitError

__all__ = ["library_errors"]


@contextlib.contextmanager
def library_errors() -> Iterator[None]:
    """Report a :class:`FlowkitError` as a one-line ``Error: ...`` with exit status 1."""
    try:
        yield
    except FlowkitError as e:
        raise click.ClickException(str(e)) from e
