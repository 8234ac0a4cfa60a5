"""The preset table of the paper's architectures, and :func:`build_model`.

Each preset is a :class:`fusionnet.config.FusionConfig`, varied with ``dataclasses.replace``.

Preset names: ``{towers}-{fusion}-{layers}[-plus][-pool2d|-pool3d]``. Towers: ``vggm`` (VGG-M-2048
for both streams), ``vgg16`` (VGG-16 for both), ``vgg16m`` (spatial VGG-16, temporal VGG-M).
Fusion: ``sum``, ``max``, ``concat``, ``conv``, ``bilinear``, ``conv3d``, or ``late`` (softmax
averaging). Layers: the fusion points, in network order (``relu5``, ``relu5-fc8``). ``plus``: the
paper's "+", the temporal tower is kept whole with its own loss. ``pool2d`` / ``pool3d``: T = 5
snippets per clip with 2D pooling (per-snippet scores averaged) or 3D pooling after fusion.
Single towers are ``{tower}-spatial`` and ``{tower}-temporal``; ``fusion3d`` is the final model.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any

from .config import FusionConfig
from .errors import ConfigError, UnknownPresetError
from .fusion import TwoStreamNet

__all__ = ["PAPER_ROWS", "PRESETS", "build_model", "get_config"]

_VGGM = FusionConfig()
_T5 = dict(num_frames=5, keep_temporal=True)

PRESETS: dict[str, FusionConfig] = {
    "vggm-spatial": FusionConfig(temporal=None, fusion="none", layers=()),
    "vggm-temporal": FusionConfig(spatial=None, fusion="none", layers=()),
    "vgg16-spatial": FusionConfig(spatial="vgg16", temporal=None, fusion="none", layers=()),
    "vgg16-temporal": FusionConfig(spatial=None, temporal="vgg16", fusion="none", layers=()),
    "vggm-late": FusionConfig(fusion="late", layers=()),
    "vgg16-late": FusionConfig(spatial="vgg16", temporal="vgg16", fusion="late", layers=()),
    "vggm-sum-relu5": dataclasses.replace(_VGGM, fusion="sum"),
    "vggm-max-relu5": dataclasses.replace(_VGGM, fusion="max"),
    "vggm-concat-relu5": dataclasses.replace(_VGGM, fusion="concat"),
    "vggm-conv-relu5": _VGGM,
    "vggm-bilinear-relu5": dataclasses.replace(_VGGM, fusion="bilinear"),
    "vggm-conv-relu2": dataclasses.replace(_VGGM, layers=("relu2",)),
    "vggm-conv-relu3": dataclasses.replace(_VGGM, layers=("relu3",)),
    "vggm-conv-relu4": dataclasses.replace(_VGGM, layers=("relu4",)),
    "vggm-conv-relu5-fc8": dataclasses.replace(_VGGM, layers=("relu5", "fc8")),
    "vggm-conv-relu3-relu5-fc6": dataclasses.replace(_VGGM, layers=("relu3", "relu5", "fc6")),
    "vgg16m-conv-relu5-plus-pool2d": FusionConfig(spatial="vgg16", **_T5),
    "vgg16m-conv-relu5-plus-pool3d": FusionConfig(spatial="vgg16", pooling="3d", **_T5),
    "vgg16m-conv3d-relu5-plus-pool3d": FusionConfig(spatial="vgg16", fusion="conv3d", pooling="3d", **_T5),
    "fusion3d": FusionConfig(spatial="vgg16", temporal="vgg16", fusion="conv3d", pooling="3d", **_T5),
    "fusion3d-single": FusionConfig(spatial="vgg16", temporal="vgg16", fusion="conv3d", pooling="3d",
                                    num_frames=5),
}

PAPER_ROWS: dict[str, str] = {
    "vggm-spatial": "Table 3, Spatial, VGG-M-2048",
    "vggm-temporal": "Table 3, Temporal, VGG-M-2048",
    "vgg16-spatial": "Table 3, Spatial, VGG-16",
    "vgg16-temporal": "Table 3, Temporal, VGG-16",
    "vggm-late": "Table 1, Sum (ours) at Softmax; Table 3, Late Fusion, VGG-M-2048",
    "vgg16-late": "Table 3, Late Fusion, VGG-16",
    "vggm-sum-relu5": "Table 1, Sum at ReLU5",
    "vggm-max-relu5": "Table 1, Max at ReLU5",
    "vggm-concat-relu5": "Table 1, Concatenation at ReLU5",
    "vggm-conv-relu5": "Table 1, Conv at ReLU5; Table 2, ReLU5",
    "vggm-bilinear-relu5": "Table 1, Bilinear at ReLU5 (linear classifier for the SVM)",
    "vggm-conv-relu2": "Table 2, ReLU2",
    "vggm-conv-relu3": "Table 2, ReLU3",
    "vggm-conv-relu4": "Table 2, ReLU4",
    "vggm-conv-relu5-fc8": "Table 2, ReLU5 + FC8",
    "vggm-conv-relu3-relu5-fc6": "Table 2, ReLU3 + ReLU5 + FC6",
    "vgg16m-conv-relu5-plus-pool2d": "Table 4, 2D Conv at ReLU5 +, 2D pooling",
    "vgg16m-conv-relu5-plus-pool3d": "Table 4, 2D Conv at ReLU5 +, 3D pooling",
    "vgg16m-conv3d-relu5-plus-pool3d":
        "Table 4, 3D Conv at ReLU5 +, 3D pooling; Table 5, Ours (S:VGG-16, T:VGG-M)",
    "fusion3d": "Table 5, Ours (S:VGG-16, T:VGG-16); Fig. 4",
    "fusion3d-single": "Table 5, Ours (S:VGG-16, T:VGG-16, single tower after fusion)",
}


def get_config(preset: str | FusionConfig, **overrides: Any) -> FusionConfig:
    """The configuration of a preset name (or a config), with fields replaced by ``overrides``.

    Raises:
        UnknownPresetError: unknown name (the message lists close matches).
        ConfigError: an unknown field or an invalid value.
    """
    if isinstance(preset, str):
        if preset not in PRESETS:
            close = difflib.get_close_matches(preset, PRESETS, n=3, cutoff=0.5)
            raise UnknownPresetError(preset, close, list(PRESETS))
        preset = PRESETS[preset]
    if not isinstance(preset, FusionConfig):
        raise ConfigError(f"preset must be a name or a FusionConfig, got {type(preset).__name__}")
    return FusionConfig.from_dict({**preset.to_dict(), **overrides})


def build_model(preset: str | FusionConfig, num_classes: int = 101, **overrides: Any) -> TwoStreamNet:
    """Build a preset with random weights (load ImageNet ones with :func:`fusionnet.load_pretrained`).

    Args:
        preset: a name of :data:`PRESETS` or a :class:`FusionConfig`.
        num_classes: outputs of fc8 (101 for UCF101, 51 for HMDB51).
        **overrides: other :class:`FusionConfig` fields, e.g. ``width=0.25, input_size=112``.

    Raises:
        UnknownPresetError: unknown preset name.
        ConfigError: invalid settings.
        ShapeError: ``input_size`` too small for a tower.

    Example:
        >>> import torch
        >>> model = build_model("vggm-conv-relu5", width=0.125, input_size=112)
        >>> sorted(model(torch.zeros(2, 3, 1, 112, 112), torch.zeros(2, 20, 1, 112, 112)))
        ['fused']
    """
    return TwoStreamNet(get_config(preset, num_classes=num_classes, **overrides))
