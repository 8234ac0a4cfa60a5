"""Configurations as frozen dataclasses that travel as JSON, next to every output they made."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

__all__ = ["JsonConfig"]


class JsonConfig:
    """Mixin for a frozen dataclass: :meth:`to_dict` for JSON, :meth:`from_dict` back.

    A subclass names the exception an unknown field raises in ``config_error``; its own
    ``__post_init__`` validates the values (and turns JSON lists back into tuples).
    """

    config_error: ClassVar[type[Exception]] = ValueError

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (tuples as lists); :meth:`from_dict` reverses it."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """Build from :meth:`to_dict` output; unknown keys raise ``config_error``."""
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise cls.config_error(f"unknown {cls.__name__} fields: {', '.join(sorted(unknown))}")
        return cls(**data)
