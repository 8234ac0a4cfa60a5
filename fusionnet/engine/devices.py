"""Where training and evaluation run: the device a setting names, mixed precision, batches moved there."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch

from ..errors import ConfigError

__all__ = ["autocast", "resolve_device", "to_device"]


def resolve_device(name: str = "auto", index: int | None = None) -> torch.device:
    """The device a ``--device`` setting names.

    Args:
        name: ``"auto"`` (CUDA when available, else the CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        index: with ``"auto"`` on CUDA, the device number (a torchrun process's local rank);
            None: the current device.

    Raises:
        ConfigError: a name that is no device.
    """
    if name != "auto":
        try:
            return torch.device(name)
        except RuntimeError as e:
            raise ConfigError(f"device {name!r} is not a device; use auto, cpu, cuda or cuda:N") from e
    if torch.cuda.is_available():
        return torch.device("cuda", index if index is not None else torch.cuda.current_device())
    return torch.device("cpu")


def autocast(device: torch.device, dtype: torch.dtype | None) -> Any:
    """Mixed precision in ``dtype`` on ``device``'s type, or nothing when ``dtype`` is None."""
    if dtype is None:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, torch.Tensor]:
    """A batch's network inputs (``"rgb"``, ``"flow"``, those it has) on ``device``, copied asynchronously."""
    return {k: batch[k].to(device, non_blocking=True) for k in ("rgb", "flow") if k in batch}
