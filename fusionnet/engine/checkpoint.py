"""The one checkpoint format of ``tsf train``, its run folder, and the one way to read it back.

A run folder holds ``config.json`` (the run's settings, classes and sampling), ``last.pt`` (the
state after the latest epoch: ``model``, ``optimizer``, ``scheduler``, ``scaler``, ``epoch``,
``step``, ``best``, ``rng``, ``config`` (the :class:`~fusionnet.TrainConfig`) and
``model_config`` (the :class:`~fusionnet.FusionConfig`)) and ``best.pt`` (``config``, the
:class:`~fusionnet.FusionConfig`, ``state_dict`` and ``epoch``). Both are written atomically
(:func:`save_checkpoint`) and read only through :func:`load_checkpoint` (``weights_only=True``,
on the CPU, checked), so every reader (resume, stream towers for fusion, evaluation) refuses the
same files with the same message.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from flowkit import atomic_write

from ..config import FusionConfig
from ..data.sampling import SamplingConfig
from ..errors import CheckpointError, ConfigError, EvaluationError
from ..fusion import TwoStreamNet
from ..weights import safe_load

__all__ = [
    "BEST_NAME",
    "CONFIG_NAME",
    "LAST_NAME",
    "TRAINING_STATE",
    "Checkpoint",
    "checkpoint_config",
    "checkpoint_model",
    "file_sha256",
    "load_checkpoint",
    "model_from_checkpoint",
    "non_finite_tensor",
    "open_checkpoint",
    "save_checkpoint",
    "save_weights",
    "split_checkpoints",
]

LAST_NAME = "last.pt"
BEST_NAME = "best.pt"
CONFIG_NAME = "config.json"
# what a last.pt holds besides its "config" (TrainConfig) and "model_config" (FusionConfig)
TRAINING_STATE = ("model", "optimizer", "scheduler", "scaler", "epoch", "step", "best", "rng")


def save_checkpoint(state: Mapping[str, Any], path: str | os.PathLike) -> None:
    """``torch.save`` of ``state`` to ``path``, atomically: a reader sees the old file or the new one."""
    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    atomic_write(path, buffer.getvalue())


def save_weights(model: TwoStreamNet, path: str | os.PathLike, epoch: int = 0) -> None:
    """Save ``model``'s configuration and weights as a ``best.pt`` (read by :func:`model_from_checkpoint`)."""
    state = {"config": model.config.to_dict(), "state_dict": model.state_dict(), "epoch": epoch}
    save_checkpoint(state, path)


def load_checkpoint(path: str | os.PathLike, resume: bool = False) -> dict[str, Any]:
    """A checkpoint written by :func:`fusionnet.train`, loaded safely (``weights_only=True``) on the CPU
    and checked.

    Every loader of checkpoints (resume, stream towers for fusion, evaluation) comes here, so each
    refuses the same files with the same message.

    Args:
        path: a ``last.pt`` (the training state) or a ``best.pt`` (weights and model configuration).
        resume: also require the training state that resuming needs (a ``last.pt``).

    Returns:
        The checkpoint's dict; :func:`checkpoint_model` gives its weights and model configuration.

    Raises:
        CheckpointError: no such file, an unreadable one, one of another structure (its first
            missing entry named), or weights holding NaN or infinity (the first such tensor named).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(str(path), "no such checkpoint")
    try:
        state = safe_load(path)
    except Exception as e:  # UnpicklingError, RuntimeError, EOFError, KeyError: a damaged or foreign file
        raise CheckpointError(str(path), _load_failure(e)) from e
    problem = _checkpoint_problem(state, resume)
    if problem is not None:
        raise CheckpointError(str(path), problem)
    return state


def _load_failure(e: Exception) -> str:
    # torch explains a refused object over several lines; its own line says which global it was
    refused = next((line.partition("error:")[2].strip() for line in str(e).splitlines()
                    if "WeightsUnpickler error:" in line), None)
    if refused:
        return f"not a tsf checkpoint (a safe load refuses it: {refused.split('. ')[0]})"
    return f"not a readable checkpoint ({type(e).__name__}: {' '.join(str(e).split())})"


def _checkpoint_problem(state: Any, resume: bool) -> str | None:
    """What makes a loaded object unusable as a checkpoint of ours, or None."""
    if not isinstance(state, dict):
        return f"not a tsf checkpoint (a {type(state).__name__}, not the dict tsf train writes)"
    if resume:
        needed = ("config", *TRAINING_STATE, "model_config")
    else:
        needed = ("config", "state_dict") if "state_dict" in state else ("config", "model", "model_config")
    missing = next((key for key in needed if key not in state), None)
    if missing is not None:
        if resume and "config" in state:  # ours without the training state: a best.pt, a damaged last.pt
            return f"holds no training state to resume from (missing {missing!r}); --resume continues " \
                   "from the last.pt of a tsf train run"
        return f"not a tsf checkpoint (missing {missing!r})"
    weights, arch = checkpoint_model(state)
    if not isinstance(arch, dict):
        return f"not a tsf checkpoint (its model configuration is a {type(arch).__name__}, not a dict)"
    if not isinstance(weights, dict) or not all(isinstance(t, torch.Tensor) for t in weights.values()):
        return "not a tsf checkpoint (its weights are not a dict of tensors)"
    bad = non_finite_tensor(weights)
    if bad is not None:
        return (f"tensor {bad!r} holds NaN or infinite values (the run diverged); use an earlier checkpoint, "
                "or train again with a lower --lr")
    return None


def checkpoint_model(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The weights and the model configuration (:class:`FusionConfig` as a dict) of a loaded checkpoint.

    A ``best.pt`` holds them as ``state_dict`` and ``config``, a ``last.pt`` as ``model`` and
    ``model_config`` (its ``config`` is the :class:`~fusionnet.TrainConfig`).
    """
    if "state_dict" in state:
        return state["state_dict"], state["config"]
    return state["model"], state["model_config"]


def checkpoint_config(arch: Mapping[str, Any], path: str | os.PathLike) -> FusionConfig:
    """The :class:`FusionConfig` of a checkpoint's model configuration (from :func:`checkpoint_model`).

    Raises:
        CheckpointError: a configuration that tsf does not build (``path`` names the checkpoint).
    """
    try:
        return FusionConfig.from_dict(dict(arch))
    except (ConfigError, TypeError) as e:
        raise CheckpointError(str(path), f"its model configuration is not one tsf builds ({e})") from e


def model_from_checkpoint(path: str | os.PathLike) -> TwoStreamNet:
    """The model of a ``best.pt`` or ``last.pt``: its configuration with its weights, strictly.

    Raises:
        CheckpointError: not a usable checkpoint (see :func:`load_checkpoint`), a configuration tsf
            does not build, or weights that do not fit it.
    """
    weights, arch = checkpoint_model(load_checkpoint(path))
    model = TwoStreamNet(checkpoint_config(arch, path))
    try:
        model.load_state_dict(weights)
    except RuntimeError as e:  # lists every missing, unexpected and mismatched key
        raise CheckpointError(str(path), f"its weights do not fit its model configuration: "
                              f"{' '.join(str(e).split())}") from e
    return model


def non_finite_tensor(tensors: Mapping[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor holding a NaN or an infinity, or None.

    The tensors must lie on one device; they are checked in one synchronisation when all are finite.
    """
    floats = {name: t for name, t in tensors.items() if t.is_floating_point()}
    if not floats or bool(torch.stack([torch.isfinite(t).all() for t in floats.values()]).all()):
        return None
    return next(name for name, t in floats.items() if not bool(torch.isfinite(t).all()))


@dataclass(frozen=True)
class Checkpoint:
    """A trained model and what it was trained on, as read from a run folder or a ``.pt`` file."""

    path: Path  # the weights file
    run: Path  # the folder holding config.json
    model: FusionConfig
    classes: tuple[str, ...]
    sampling: SamplingConfig
    state_dict: dict[str, torch.Tensor]
    sha256: str

    def build(self) -> TwoStreamNet:
        """The model with these weights, fully convolutional and in eval mode.

        Raises:
            EvaluationError: weights that do not fit the configuration.
        """
        model = TwoStreamNet(self.model)
        try:
            model.load_state_dict(self.state_dict)
        except RuntimeError as e:  # lists the missing, unexpected and mismatched keys
            raise EvaluationError(f"{self.path}: weights do not fit the model of {self.run / CONFIG_NAME}: "
                                  f"{e}") from e
        return model.set_fully_conv(True).eval()


def open_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a run folder (its ``best.pt``, else ``last.pt``) or a ``.pt`` file beside a ``config.json``.

    Raises:
        EvaluationError: no weights, or no ``config.json`` beside them.
        CheckpointError: a ``.pt`` file that is damaged, not ours, or holds non-finite weights (see
            :func:`load_checkpoint`).
    """
    path = Path(path)
    if path.is_dir():
        weights = next((path / n for n in (BEST_NAME, LAST_NAME) if (path / n).is_file()), None)
        if weights is None:
            raise EvaluationError(f"{path}: no {BEST_NAME} or {LAST_NAME}; pass a run folder of tsf train "
                                  "or a .pt file")
        path = weights
    elif not path.is_file():
        raise EvaluationError(f"{path}: no such checkpoint file or run folder")
    config_path = path.parent / CONFIG_NAME
    if not config_path.is_file():
        raise EvaluationError(f"{path}: no {CONFIG_NAME} beside it (classes and sampling come from the run "
                              "folder); keep the checkpoint in its tsf train run folder")
    try:
        record = json.loads(config_path.read_text())
        classes, sampling = tuple(record["classes"]), SamplingConfig.from_dict(record["sampling"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise EvaluationError(f"{config_path}: not a config.json of tsf train ({e})") from e
    weights, arch = checkpoint_model(load_checkpoint(path))
    return Checkpoint(path=path, run=path.parent, model=checkpoint_config(arch, path), classes=classes,
                      sampling=sampling, state_dict=weights, sha256=file_sha256(path))


def split_checkpoints(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The three checkpoints of ``--split all``: three paths, or one folder holding ``split1..3``.

    Raises:
        EvaluationError: neither three paths nor a folder with the three subfolders.
    """
    if len(paths) == 3:
        return [Path(p) for p in paths]
    if len(paths) == 1:
        folders = [Path(paths[0]) / f"split{n}" for n in (1, 2, 3)]
        missing = [f.name for f in folders if not f.is_dir()]
        if not missing:
            return folders
        raise EvaluationError(f"{paths[0]}: no {', '.join(missing)} subfolder; --split all takes a folder "
                              "holding split1, split2 and split3, or --checkpoint three times")
    raise EvaluationError(f"--split all takes three checkpoints (one per split) or one folder of split1..3, "
                          f"got {len(paths)}")


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks (a checkpoint's, in the evaluation report)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
