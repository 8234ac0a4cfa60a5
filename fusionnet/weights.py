"""ImageNet (or any tower) initialisation from local files; the one safe reader of ``torch.save`` files.

Sources: a torchvision-format VGG-16 state dict (``features.N.*``, ``classifier.N.*``), a
MatConvNet simplenn ``.mat`` file (``imagenet-vgg-m-2048.mat``, ``imagenet-vgg-verydeep-16.mat``),
or a state dict with our layer names. Nothing is ever downloaded.

Loading is strict: a layer missing from the file, a layer of the file that the tower does not
have, or a shape that does not fit raises :class:`WeightsError` naming the layer. Three cases are
adapted, and logged: fc8 with another number of classes keeps its initialisation (the new head),
the temporal conv1 gets the cross-modality initialisation (the RGB filters averaged over their
channels, replicated to 2L channels), and layers after a truncated tower's last layer are ignored.
Anything else the caller wants left alone must be named in ``skip``.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import torch
from torch import nn

from .errors import WeightsError, WeightsNotFoundError
from .fusion import TwoStreamNet
from .towers import ARCHS, FullyConnected, Tower

__all__ = [
    "cross_modality",
    "from_torchvision_vgg16",
    "load_pretrained",
    "load_tower",
    "read_matconvnet",
    "read_state_dict",
    "safe_load",
    "to_torchvision_vgg16",
]

log = logging.getLogger(__name__)

Source = str | Path | Mapping[str, torch.Tensor]
# torchvision's vgg16: indices of the convolutions in `features` and of the linears in `classifier`
_TV_FEATURES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
_TV_CLASSIFIER = {0: "fc6", 3: "fc7", 6: "fc8"}
_VGG16_CONVS = [s.name for s in ARCHS["vgg16"] if s.kind == "conv"]


def cross_modality(weight: torch.Tensor, in_chans: int) -> torch.Tensor:
    """Cross-modality initialisation of a flow conv1: the mean over the RGB channels, replicated.

    Shape:
        ``(out, 3, k, k)`` to ``(out, in_chans, k, k)``.
    """
    return weight.mean(dim=1, keepdim=True).expand(-1, in_chans, -1, -1).clone()


def safe_load(path: str | Path) -> Any:
    """``torch.load`` of ``path`` on the CPU with ``weights_only=True``: tensors and plain containers,
    never pickled code, and no silent fallback to an unsafe load.

    The one way fusionnet reads a ``torch.save`` file: weights here, checkpoints in
    :func:`fusionnet.load_checkpoint`. Callers turn a failure into their own error naming the file.

    Raises:
        pickle.UnpicklingError, RuntimeError, EOFError, OSError: as ``torch.load`` raises them for a
            damaged, foreign or unreadable file.
    """
    return torch.load(path, map_location="cpu", weights_only=True)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``torch.save`` file, safely (``weights_only``), without ``module.`` prefixes.

    A checkpoint dict with a ``"state_dict"`` or ``"model"`` entry is unwrapped.

    Raises:
        WeightsNotFoundError: no file at ``path``.
        WeightsError: not a loadable tensor file.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(str(path))
    try:
        data = safe_load(path)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as e:
        raise WeightsError(str(path), f"not a safely loadable PyTorch file ({e}); it must hold tensors "
                           "only (torch.save(model.state_dict()))") from e
    for key in ("state_dict", "model"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise WeightsError(str(path), "does not hold a state dict (a dict of tensors)")
    return {_strip(k): v for k, v in data.items()}


def _strip(key: str) -> str:
    for prefix in ("module.", "_orig_mod."):
        while key.startswith(prefix):
            key = key[len(prefix):]
    return key


def from_torchvision_vgg16(state: Mapping[str, torch.Tensor],
                           name: str = "<state dict>") -> dict[str, torch.Tensor]:
    """Rename a torchvision VGG-16 state dict to our layer names (fc weights stay 2D here).

    Raises:
        WeightsError: a key that torchvision's VGG-16 does not have.
    """
    names = {f"features.{i}": conv for i, conv in zip(_TV_FEATURES, _VGG16_CONVS)}
    names.update({f"classifier.{i}": fc for i, fc in _TV_CLASSIFIER.items()})
    out = {}
    for key, value in state.items():
        layer, _, param = key.rpartition(".")
        if layer not in names:
            raise WeightsError(name, "is not a torchvision VGG-16 layer (batch-norm VGG-16 is not supported)",
                               key)
        out[f"{names[layer]}.{param}"] = value
    return out


def to_torchvision_vgg16(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our VGG-16 tower's state dict in torchvision's names and shapes (fc weights 2D)."""
    names = {conv: f"features.{i}" for i, conv in zip(_TV_FEATURES, _VGG16_CONVS)}
    names.update({fc: f"classifier.{i}" for i, fc in _TV_CLASSIFIER.items()})
    out = {}
    for key, value in state.items():
        layer, _, param = key.rpartition(".")
        linear = layer.startswith("fc") and param == "weight"
        out[f"{names[layer]}.{param}"] = value.flatten(1) if linear else value
    return out


def read_matconvnet(path: str | Path) -> dict[str, torch.Tensor]:
    """The conv (and fc) weights of a MatConvNet simplenn ``.mat`` file, with our names and layout.

    Filters are stored ``H x W x in x out`` (fc6 of VGG-M as ``6 x 6 x 512 x 4096``) and become
    ``(out, in, H, W)``; MATLAB drops trailing singleton dimensions, which are restored.

    Raises:
        WeightsNotFoundError: no file at ``path``.
        WeightsError: not a simplenn network.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(str(path))
    try:
        mat = scipy.io.loadmat(str(path), squeeze_me=False, struct_as_record=False)
    except (scipy.io.matlab.MatReadError, NotImplementedError, ValueError, TypeError, OSError) as e:
        # NotImplementedError: MATLAB v7.3 (HDF5) files, which scipy does not read
        raise WeightsError(str(path), f"not a readable MATLAB v5 file ({e}); "
                           "re-save it with save(..., '-v7')") from e
    layers = mat.get("layers")
    if layers is None and "net" in mat:
        layers = getattr(_one(mat["net"]), "layers", None)
    if layers is None:
        raise WeightsError(str(path), "has no `layers` (nor `net.layers`): not a MatConvNet simplenn network")
    out: dict[str, torch.Tensor] = {}
    for entry in np.asarray(layers).ravel():
        layer = _one(entry)
        if _text(layer.type) != "conv":
            continue
        name = _text(layer.name)
        if hasattr(layer, "weights"):  # MatConvNet >= beta-11
            filters, biases = np.asarray(layer.weights).ravel()[:2]
        else:
            filters, biases = layer.filters, layer.biases
        filters = np.asarray(filters, dtype=np.float32)
        filters = filters.reshape(filters.shape + (1,) * (4 - filters.ndim))
        out[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(filters.transpose(3, 2, 0, 1)))
        out[f"{name}.bias"] = torch.from_numpy(np.asarray(biases, dtype=np.float32).ravel().copy())
    return out


def _one(x: Any) -> Any:
    """The element of a 1x1 MATLAB struct or cell array."""
    while isinstance(x, np.ndarray) and x.dtype == object and x.size == 1:
        x = x.ravel()[0]
    return x


def _text(x: Any) -> str:
    return "".join(str(s) for s in np.asarray(x).ravel())


def _source_state(source: Source) -> tuple[dict[str, torch.Tensor], str]:
    if isinstance(source, Mapping):
        state, name = {_strip(k): v for k, v in source.items()}, "<state dict>"
    elif Path(source).suffix.lower() == ".mat":
        return read_matconvnet(source), str(source)
    else:
        state, name = read_state_dict(source), str(source)
    if any(k.startswith(("features.", "classifier.")) for k in state):
        state = from_torchvision_vgg16(state, name)
    return state, name


def load_tower(tower: Tower, source: Source, skip: Iterable[str] = ()) -> None:
    """Copy weights from a file or state dict into ``tower``, strictly (see the module's rules).

    Args:
        tower: the tower to initialise.
        source: a ``.mat`` (MatConvNet), a ``torch.save`` file, or a state dict: torchvision VGG-16
            names or ours.
        skip: layers to leave at their initialisation, by name (e.g. ``("fc6",)`` after
            concatenation fusion has doubled its input).

    Raises:
        WeightsNotFoundError: no file.
        WeightsError: a missing, extra or mismatched layer, named.
    """
    state, name = _source_state(source)
    skip = {tower.resolve(s) for s in skip}
    by_layer: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        layer, _, param = key.rpartition(".")
        by_layer.setdefault(layer, {})[param] = value
    params = {n: m for n, m in tower.named_children() if isinstance(m, (nn.Conv2d, FullyConnected))}
    for layer in by_layer:
        if layer in params or layer in skip:
            continue
        in_table = layer in {spec.name for spec in ARCHS[tower.arch]}
        end = tower.truncated_after
        if in_table and end is not None and tower.position(layer) > tower.position(end):
            log.info("%s: %s ignored, the tower stops at %s", name, layer, tower.truncated_after)
            continue
        raise WeightsError(name, f"is not in the {tower.arch} tower (layers: {', '.join(params)})", layer)
    with torch.no_grad():
        for layer, module in params.items():
            if layer in skip:
                log.info("%s: %s skipped as asked, left at its initialisation", name, layer)
                continue
            if layer not in by_layer:
                raise WeightsError(name, f"missing from the file, which has: {', '.join(by_layer)}", layer)
            _copy_layer(module, by_layer[layer], layer, name, tower.in_chans)


def _copy_layer(module: nn.Module, params: dict[str, torch.Tensor], layer: str, name: str,
                in_chans: int) -> None:
    if set(params) != {"weight", "bias"}:
        raise WeightsError(name, f"has parameters {sorted(params)}, expected weight and bias", layer)
    weight, bias = params["weight"], params["bias"]
    target = module.weight
    if weight.ndim == 2 and target.ndim == 4 and weight.shape[1] == target[0].numel():
        # a linear layer's weight, flattened (channel, row, column) as torchvision does
        weight = weight.reshape(weight.shape[0], *target.shape[1:])
    if layer == "fc8" and weight.shape[0] != target.shape[0] and weight.shape[1:] == target.shape[1:]:
        log.info("%s: fc8 has %d classes, the model %d: fc8 keeps its initialisation",
                 name, weight.shape[0], target.shape[0])
        return
    if weight.ndim == 4 and weight.shape[1] == 3 and in_chans != 3 and target.shape[1] == in_chans \
            and weight.shape[0] == target.shape[0] and weight.shape[2:] == target.shape[2:]:
        log.info("%s: %s cross-modality initialised from RGB to %d channels", name, layer, in_chans)
        weight = cross_modality(weight, in_chans)
    if weight.shape != target.shape or bias.shape != module.bias.shape:
        raise WeightsError(name, f"has weight {tuple(weight.shape)} and bias {tuple(bias.shape)}, "
                           f"the model needs {tuple(target.shape)} and {tuple(module.bias.shape)}", layer)
    target.copy_(weight)
    module.bias.copy_(bias)


def load_pretrained(model: TwoStreamNet, spatial: Source | None = None, temporal: Source | None = None,
                    skip: Iterable[str] = ()) -> TwoStreamNet:
    """ImageNet (or any tower) weights for both towers; the temporal conv1 is cross-modality initialised.

    Raises:
        WeightsError: a tower is given no source, or a layer is missing, extra or mismatched.
    """
    skip = tuple(skip)
    for role, tower, source in (("spatial", model.spatial, spatial), ("temporal", model.temporal, temporal)):
        if tower is None:
            continue
        if source is None:
            raise WeightsError(f"<{role} weights>", f"none given for the {role} {tower.arch} tower")
        load_tower(tower, source, skip)
    return model

