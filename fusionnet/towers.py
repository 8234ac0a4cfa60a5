"""The two tower families of the paper, VGG-M-2048 and VGG-16, built from layer tables.

Layer names follow the paper and the MatConvNet models (``conv1`` ... ``fc8`` for VGG-M,
``conv1_1`` ... ``conv5_3`` for VGG-16), so fusion points and weight files name the same layers.
fc6, fc7 and fc8 hold convolution-shaped weights ``(out, in, k, k)``: applied as matrix products
(the linear form, input of exactly ``input_size``) or as convolutions (the fully convolutional
form, any larger frame gives a score map); both forms give the same scores at ``input_size``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .config import ARCH_NAMES, LayerSpec
from .errors import ConfigError, ShapeError

__all__ = ["ARCHS", "FullyConnected", "Tower", "min_input_size", "scaled"]


def _vggm() -> tuple[LayerSpec, ...]:
    # Chatfield et al. 2014, imagenet-vgg-m-2048: 224 -> 109 -> 54 -> 26 -> 13 (relu5) -> 6 (pool5)
    rows = [LayerSpec("conv1", "conv", 96, 7, 2), LayerSpec("relu1", "relu"), LayerSpec("norm1", "lrn"),
            LayerSpec("pool1", "pool", 0, 3, 2, ceil=True),
            LayerSpec("conv2", "conv", 256, 5, 2, 1), LayerSpec("relu2", "relu"), LayerSpec("norm2", "lrn"),
            LayerSpec("pool2", "pool", 0, 3, 2, ceil=True)]
    for i in (3, 4, 5):
        rows += [LayerSpec(f"conv{i}", "conv", 512, 3, 1, 1), LayerSpec(f"relu{i}", "relu")]
    rows.append(LayerSpec("pool5", "pool", 0, 3, 2, ceil=True))
    return tuple(rows) + _head(4096, 2048)


def _vgg16() -> tuple[LayerSpec, ...]:
    # Simonyan and Zisserman 2015, configuration D: relu5_3 is 14x14 and pool5 7x7 at 224
    rows: list[LayerSpec] = []
    for block, (channels, convs) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)), 1):
        for i in range(1, convs + 1):
            rows += [LayerSpec(f"conv{block}_{i}", "conv", channels, 3, 1, 1),
                     LayerSpec(f"relu{block}_{i}", "relu")]
        rows.append(LayerSpec(f"pool{block}", "pool", 0, 2, 2))
    return tuple(rows) + _head(4096, 4096)


def _head(fc6: int, fc7: int) -> tuple[LayerSpec, ...]:
    return (LayerSpec("fc6", "fc", fc6), LayerSpec("relu6", "relu"), LayerSpec("drop6", "drop"),
            LayerSpec("fc7", "fc", fc7, 1), LayerSpec("relu7", "relu"), LayerSpec("drop7", "drop"),
            LayerSpec("fc8", "fc", 0, 1))


ARCHS: dict[str, tuple[LayerSpec, ...]] = {"vggm": _vggm(), "vgg16": _vgg16()}
assert tuple(ARCHS) == ARCH_NAMES  # FusionConfig validates tower names against ARCH_NAMES
# The paper says "ReLU5" for both families; for VGG-16 that is the last ReLU of the block.
_ALIASES = {"vgg16": {f"relu{b}": f"relu{b}_{n}" for b, n in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3))}}


def scaled(channels: int, width: float) -> int:
    """``channels`` times the width multiplier, at least 1."""
    return max(1, round(channels * width))


class FullyConnected(nn.Module):
    """A fully connected layer stored as a convolution ``(out, in, k, k)``.

    Shape:
        input ``(N, in, k, k)`` in the linear form, ``(N, in, H >= k, W >= k)`` when
        ``fully_conv``; output ``(N, out, 1, 1)`` or ``(N, out, H - k + 1, W - k + 1)``.
    """

    def __init__(self, in_chans: int, out: int, kernel: int, fully_conv: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out, in_chans, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out))
        self.fully_conv = fully_conv
        nn.init.normal_(self.weight, 0.0, 0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fully_conv:
            return F.conv2d(x, self.weight, self.bias)
        if x.shape[1:] != self.weight.shape[1:]:
            raise ShapeError("linear layer", f"(N, {', '.join(map(str, self.weight.shape[1:]))}); "
                             "other frame sizes need the fully convolutional form", x.shape)
        return F.linear(x.flatten(1), self.weight.flatten(1), self.bias)[:, :, None, None]

    def extra_repr(self) -> str:
        out, in_chans, k, _ = self.weight.shape
        return f"{in_chans}x{k}x{k} -> {out}, fully_conv={self.fully_conv}"


def min_input_size(arch: str) -> int:
    """The smallest input that leaves every layer of ``arch`` at least one pixel (59 for VGG-M)."""
    size = 1
    while not _fits(size, arch):
        size += 1
    return size


def _fits(size: int, arch: str) -> bool:
    for spec in ARCHS[arch]:
        if spec.kind in ("conv", "pool"):
            size = _out_size(size, spec)
        if size < 1:
            return False
    return True


def _out_size(size: int, spec: LayerSpec) -> int:
    span = size + 2 * spec.pad - spec.kernel
    if span < 0:
        return 0
    return (math.ceil(span / spec.stride) if spec.ceil else span // spec.stride) + 1


class Tower(nn.Module):
    """A VGG tower whose children are the layers of its table, in order and by name.

    Args:
        arch: ``"vggm"`` (VGG-M-2048) or ``"vgg16"``.
        in_chans: input channels: 3 for RGB, 2L for L stacked flow fields (u1, v1, u2, v2, ...).
        num_classes: outputs of fc8.
        input_size: the training crop; fc6's kernel is the pool5 map at this size (6 for VGG-M
            and 7 for VGG-16 at 224).
        width: multiplier on every layer's channels (not the paper's; for tests and demos).
        drop_rate: dropout probabilities after fc6 and fc7.
        norm2: keep VGG-M's LRN after conv2 (the original temporal VGG-M drops it).
        last: truncate the tower after this layer (a fused tower that stops at its fusion point).
        fully_conv: apply fc6-fc8 as convolutions.

    Raises:
        ConfigError: unknown arch or layer name, or a width or drop rate out of range.
        ShapeError: ``input_size`` too small for the architecture.
    """

    def __init__(self, arch: str, in_chans: int = 3, num_classes: int = 1000, input_size: int = 224,
                 width: float = 1.0, drop_rate: tuple[float, float] = (0.5, 0.5), norm2: bool = True,
                 last: str | None = None, fully_conv: bool = False) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ConfigError(f"unknown tower {arch!r}; towers: {', '.join(ARCHS)}")
        if not width > 0:
            raise ConfigError(f"width must be > 0, got {width!r}")
        self.arch, self.input_size, self.in_chans = arch, input_size, in_chans
        specs = [s for s in ARCHS[arch] if norm2 or s.name != "norm2"]
        self.truncated_after = self.resolve(last) if last is not None else None
        drops = iter(drop_rate)
        channels, size = in_chans, input_size
        for spec in specs:
            if spec.kind == "conv":
                out = scaled(spec.out, width)
                layer: nn.Module = nn.Conv2d(channels, out, spec.kernel, spec.stride, spec.pad)
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(layer.bias)
                channels, size = out, _out_size(size, spec)
            elif spec.kind == "pool":
                layer = nn.MaxPool2d(spec.kernel, spec.stride, ceil_mode=spec.ceil)
                size = _out_size(size, spec)
            elif spec.kind == "fc":
                out = scaled(spec.out, width) if spec.out else num_classes
                layer = FullyConnected(channels, out, spec.kernel or size, fully_conv)
                channels, size = out, 1
            elif spec.kind == "relu":
                layer = nn.ReLU(inplace=False)
            elif spec.kind == "lrn":
                # PyTorch and Caffe divide alpha by size: 5e-4 / 5 is MatConvNet's alpha of 1e-4
                layer = nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)
            else:
                rate = next(drops)
                if not 0 <= rate < 1:
                    raise ConfigError(f"drop rates must be in [0, 1), got {drop_rate!r}")
                layer = nn.Dropout(rate)
            if size < 1:
                least = min_input_size(arch)
                raise ShapeError(f"{arch} input_size {input_size} (too small at {spec.name})",
                                 f"(N, {in_chans}, >={least}, >={least})", (in_chans, input_size, input_size))
            self.add_module(spec.name, layer)
            if spec.name == self.truncated_after:
                break

    @property
    def names(self) -> list[str]:
        """Names of the layers, in order."""
        return [name for name, _ in self.named_children()]

    def resolve(self, name: str) -> str:
        """The layer a paper-style name refers to (``relu5`` is ``relu5_3`` in VGG-16).

        Raises:
            ConfigError: no such layer in this architecture.
        """
        name = _ALIASES.get(self.arch, {}).get(name, name)
        if name not in {spec.name for spec in ARCHS[self.arch]}:
            raise ConfigError(f"{self.arch} has no layer {name!r}; layers: "
                              f"{', '.join(s.name for s in ARCHS[self.arch])}")
        return name

    def position(self, name: str) -> int:
        """Index of a layer in the full table of the architecture (truncated or not)."""
        return [spec.name for spec in ARCHS[self.arch]].index(self.resolve(name))

    def run(self, x: torch.Tensor, after: str | None = None, upto: str | None = None) -> torch.Tensor:
        """Apply the layers strictly after ``after`` up to and including ``upto`` (None: the ends)."""
        for _, layer in self._span(after, upto):
            x = layer(x)
        return x

    def _span(self, after: str | None, upto: str | None) -> Iterator[tuple[str, nn.Module]]:
        names = self.names
        start = names.index(self.resolve(after)) + 1 if after is not None else 0
        stop = names.index(self.resolve(upto)) + 1 if upto is not None else len(names)
        yield from list(self.named_children())[start:stop]

    def before(self, name: str) -> str:
        """The name of the layer just before ``name``."""
        names = self.names
        return names[names.index(self.resolve(name)) - 1]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W)`` input to the pool5 map."""
        return self.run(x, upto="pool5")

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """pool5 map to class scores: ``(N, classes)``, or a score map in the fully convolutional form."""
        x = self.run(x, after="pool5")
        return x if self.fc8.fully_conv else x.flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_chans:
            raise ShapeError(f"{self.arch} tower input", f"(N, {self.in_chans}, H, W)", x.shape)
        if self.truncated_after is not None:
            return self.run(x)
        return self.forward_head(self.forward_features(x))

    def expand_input(self, after: str, in_chans: int) -> None:
        """Rebuild the first conv or fc layer after ``after`` for ``in_chans`` input channels.

        Concatenation fusion doubles the channels that this layer receives.
        """
        for name, layer in self._span(after, None):
            if isinstance(layer, nn.Conv2d):
                new: nn.Module = nn.Conv2d(in_chans, layer.out_channels, layer.kernel_size, layer.stride,
                                           layer.padding)
                nn.init.kaiming_normal_(new.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(new.bias)
            elif isinstance(layer, FullyConnected):
                out, _, k, _ = layer.weight.shape
                new = FullyConnected(in_chans, out, k, layer.fully_conv)
            else:
                continue
            setattr(self, name, new.to(layer.weight.device))
            return
        raise ConfigError(f"no conv or fc layer after {after!r} in this {self.arch} tower")

    def set_fully_conv(self, enabled: bool = True) -> Tower:
        """Switch fc6-fc8 between the linear and the fully convolutional form; returns self."""
        for layer in self.modules():
            if isinstance(layer, FullyConnected):
                layer.fully_conv = enabled
        return self
