"""The architecture as plain data: the names of the towers and fusions, a layer-table row, and
:class:`FusionConfig`.

A leaf module: it imports nothing else of fusionnet but its errors, so that the towers, the fusion
network, the presets and the checkpoints all describe a model with the same types and never import
each other to do so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from flowkit.config import JsonConfig

from .errors import ConfigError

__all__ = ["ARCH_NAMES", "FUSIONS", "FusionConfig", "LayerSpec"]

# the tower families of fusionnet.towers.ARCHS, which builds a layer table for each
ARCH_NAMES = ("vggm", "vgg16")
FUSIONS = ("none", "late", "sum", "max", "concat", "conv", "bilinear", "conv3d")


@dataclass(frozen=True)
class LayerSpec:
    """One row of a layer table."""

    name: str
    kind: str  # "conv", "relu", "lrn", "pool", "fc", "drop"
    out: int = 0  # output channels of conv and fc (0 for fc8: the number of classes)
    kernel: int = 0
    stride: int = 1
    pad: int = 0
    ceil: bool = False  # pooling rounds up: MatConvNet's VGG-M pads pools by one at the bottom/right


@dataclass(frozen=True)
class FusionConfig(JsonConfig):
    """A two-stream architecture: towers, fusion function and layers, temporal pooling."""

    config_error: ClassVar[type[Exception]] = ConfigError

    spatial: str | None = "vggm"  # spatial (RGB) tower: "vggm", "vgg16", or None for none
    temporal: str | None = "vggm"  # temporal (flow) tower: "vggm", "vgg16", or None for none
    fusion: str = "conv"  # "none" (one tower), "late", "sum", "max", "concat", "conv", "bilinear", "conv3d"
    layers: tuple[str, ...] = ("relu5",)  # fusion points in network order; () for "none" and "late"
    keep_temporal: bool = False  # the paper's "+": the temporal tower goes on with its own loss
    pooling: str = "2d"  # "2d": per-snippet scores averaged; "3d": 2x2xT max pooling in place of pool5
    num_frames: int = 1  # T, snippets per clip
    flow_frames: int = 10  # L, flow fields per snippet: the temporal input has 2L channels
    num_classes: int = 101  # outputs of fc8 (UCF101)
    input_size: int = 224  # training crop; fixes fc6's kernel (pool5's size there)
    width: float = 1.0  # channel multiplier, not the paper's: small models for tests and demos
    drop_rate: tuple[float, float] = (0.85, 0.85)  # dropout after fc6 and fc7 (sec. 3.5)
    fusion_init: str = "identity"  # conv and conv3d fusion: "identity" ([0.25 I, 0.75 I]) or "gaussian"
    fully_conv: bool = False  # fc6-fc8 as convolutions: whole frames give score maps, averaged

    def __post_init__(self) -> None:
        # JSON has no tuples
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "drop_rate", tuple(self.drop_rate))
        for name in ("spatial", "temporal"):
            arch = getattr(self, name)
            if arch is not None and arch not in ARCH_NAMES:
                raise ConfigError(f"FusionConfig.{name} must be one of {', '.join(ARCH_NAMES)} or None, "
                                  f"got {arch!r}")
        if self.fusion not in FUSIONS:
            raise ConfigError(f"FusionConfig.fusion must be one of {', '.join(FUSIONS)}, got {self.fusion!r}")
        towers = (self.spatial is not None) + (self.temporal is not None)
        if self.fusion == "none" and towers != 1:
            raise ConfigError("fusion 'none' takes exactly one tower (set spatial or temporal to None)")
        if self.fusion != "none" and towers != 2:
            raise ConfigError(f"fusion {self.fusion!r} needs both towers")
        if (self.fusion in ("none", "late")) != (not self.layers):
            raise ConfigError(f"fusion {self.fusion!r} with layers {self.layers}: fusion layers are needed "
                              "by every fusion except 'none' and 'late', which take none")
        if self.fusion in ("bilinear", "conv3d") and len(self.layers) != 1:
            raise ConfigError(f"{self.fusion} fusion takes one layer, got {self.layers}")
        if self.keep_temporal and (self.fusion in ("none", "late") or self.layers[-1].startswith("fc8")):
            raise ConfigError("keep_temporal needs a fusion before fc8")
        if self.pooling not in ("2d", "3d"):
            raise ConfigError(f"FusionConfig.pooling must be '2d' or '3d', got {self.pooling!r}")
        for name in ("num_frames", "flow_frames", "num_classes", "input_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"FusionConfig.{name} must be an integer >= 1, got {value!r}")
        if self.pooling == "3d" and self.num_frames < 2:
            raise ConfigError("3D pooling needs num_frames >= 2")
        if not self.width > 0:
            raise ConfigError(f"FusionConfig.width must be > 0, got {self.width!r}")
        if len(self.drop_rate) != 2 or not all(0 <= r < 1 for r in self.drop_rate):
            raise ConfigError(f"FusionConfig.drop_rate must be two rates in [0, 1), got {self.drop_rate!r}")
        if self.fusion_init not in ("identity", "gaussian"):
            raise ConfigError("FusionConfig.fusion_init must be 'identity' or 'gaussian', "
                              f"got {self.fusion_init!r}")
