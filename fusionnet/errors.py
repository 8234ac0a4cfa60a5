"""Exceptions raised by fusionnet.

Every error derives from :class:`FusionnetError`; each subclass also inherits the builtin that
fits it, so ``except ValueError``, ``except KeyError`` or ``except FileNotFoundError`` keeps
working for callers that do not know fusionnet.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "EvaluationError",
    "FusionnetError",
    "ScoresError",
    "ShapeError",
    "SplitError",
    "TrainError",
    "UnknownPresetError",
    "WeightsError",
    "WeightsNotFoundError",
]


class FusionnetError(Exception):
    """Base class of all fusionnet errors."""


class CheckpointError(FusionnetError, ValueError):
    """A file that is not a usable checkpoint of ``tsf train``: unreadable, of another structure,
    without the training state a resume needs, or with non-finite weights.

    Attributes:
        filename: the checkpoint file.
        reason: what is wrong with it.
    """

    def __init__(self, filename: str, reason: str) -> None:
        self.filename, self.reason = filename, reason
        super().__init__(f"{filename}: {reason}")


class ConfigError(FusionnetError, ValueError):
    """An architecture setting is invalid or two settings contradict each other."""


class DataError(FusionnetError, ValueError):
    """Training data cannot be read: an unknown folder layout, a missing video or frame, a bad index."""


class SplitError(FusionnetError, ValueError):
    """A split file is missing or malformed, or the split names videos the data does not hold."""


class EvaluationError(FusionnetError, ValueError):
    """An evaluation that cannot run: an unusable checkpoint, classes that differ from the split's."""


class ScoresError(FusionnetError, ValueError):
    """Score files that cannot be read or fused: a malformed line, different videos or class counts."""


class TrainError(FusionnetError, RuntimeError):
    """A training run that cannot start or resume (its folder, its checkpoint)."""


class UnknownPresetError(FusionnetError, KeyError):
    """A preset name is not in :data:`fusionnet.PRESETS`.

    Attributes:
        name: the unknown name.
        close: the closest preset names (may be empty).
    """

    def __init__(self, name: str, close: Sequence[str], known: Sequence[str]) -> None:
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        self.message = f"unknown preset {name!r}{hint} (`tsf describe --list` shows all {len(known)})"
        super().__init__(self.message)
        self.name = name
        self.close = tuple(close)

    def __str__(self) -> str:
        # KeyError would print the repr of the message, quotes included
        return self.message


class ShapeError(FusionnetError, ValueError):
    """A tensor does not have the shape a layer needs.

    Attributes:
        what: the tensor or layer concerned.
        expected: the expected shape, in words (``"(B, 3, T, H, W)"``).
        actual: the shape received.
    """

    def __init__(self, what: str, expected: str, actual: Sequence[int]) -> None:
        self.what, self.expected, self.actual = what, expected, tuple(actual)
        super().__init__(f"{what}: expected shape {expected}, got {self.actual}")


class WeightsError(FusionnetError, ValueError):
    """A weights file cannot be mapped onto a model: a layer is missing, extra or mismatched.

    Attributes:
        filename: the weights file (or ``"<state dict>"``).
        layer: the offending layer, when there is one.
    """

    def __init__(self, filename: str, reason: str, layer: str | None = None) -> None:
        self.filename, self.layer = filename, layer
        where = f" layer {layer!r}" if layer else ""
        super().__init__(f"{filename}:{where} {reason}")


class WeightsNotFoundError(FusionnetError, FileNotFoundError):
    """No weights file at the given path (fusionnet never downloads)."""

    def __init__(self, filename: str) -> None:
        self.message = f"no weights file at {filename}; download it yourself or pass pretrained=False"
        super().__init__(self.message)
        self.filename = filename

    def __str__(self) -> str:
        # OSError would print "[Errno None] None"
        return self.message
