"""Option values the commands share, parsed in one place."""

from __future__ import annotations

import click

__all__ = ["parse_size"]


def parse_size(value: str, example: str = "340x256", form: str = "WIDTHxHEIGHT",
               option: str = "--size") -> tuple[int, int]:
    """``(width, height)`` from ``"WIDTHxHEIGHT"`` (``form`` names it in the message).

    Raises:
        click.BadParameter: the value is not two integers joined by ``x``.
    """
    try:
        width, height = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not {form}, e.g. {example}", param_hint=option) from None
    return width, height
