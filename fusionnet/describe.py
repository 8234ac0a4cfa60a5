"""Layer-by-layer summary of a model: output shapes, parameters and multiply-adds.

FLOPs are counted as multiply-adds (one multiply and one add count once) of the convolutions,
the fully connected layers, the fusion convolutions and the bilinear products; ReLU, LRN,
pooling, dropout and normalisation are not counted. Shapes come from a forward pass on PyTorch's
``meta`` device, so describing even the largest model takes no memory and no time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .config import FusionConfig
from .fusion import BilinearFusion, Conv3dFusion, ConvFusion, TwoStreamNet
from .presets import PAPER_ROWS, get_config
from .towers import FullyConnected

__all__ = ["LayerRow", "ModelSummary", "describe"]


@dataclass(frozen=True)
class LayerRow:
    """One layer as run for one clip."""

    name: str  # "spatial.conv1", "fusions.relu5", "pool3d"
    kind: str  # the module's class name
    shape: tuple[int, ...]  # output shape, snippets first
    params: int
    macs: int  # multiply-adds


@dataclass(frozen=True)
class ModelSummary:
    """What :func:`describe` returns; :meth:`format` is what ``tsf describe`` prints."""

    name: str
    config: FusionConfig
    rows: tuple[LayerRow, ...]
    total_params: int
    macs: int  # multiply-adds per clip

    def format(self) -> str:
        """A table of layers, then ``total parameters: N`` and the FLOPs per clip."""
        cfg = self.config
        lines = [f"{self.name}: {PAPER_ROWS.get(self.name, 'custom configuration')}",
                 f"clip: {cfg.num_frames} snippet(s) of {cfg.input_size}x{cfg.input_size}, "
                 f"{cfg.num_classes} classes, width {cfg.width:g}",
                 f"{'layer':<24} {'type':<20} {'output':<22} {'params':>13} {'multiply-adds':>17}"]
        for row in self.rows:
            lines.append(f"{row.name:<24} {row.kind:<20} {'x'.join(map(str, row.shape)):<22} "
                         f"{row.params:>13,} {row.macs:>17,}")
        lines.append(f"total parameters: {self.total_params:,}")
        lines.append(f"FLOPs per clip: {self.macs / 1e9:.2f} G multiply-adds ({self.macs:,})")
        return "\n".join(lines)


def _macs(module: nn.Module, inputs: tuple[Any, ...], out: torch.Tensor) -> int:
    if isinstance(module, (nn.Conv2d, nn.Conv3d)):
        return out.numel() * module.weight[0].numel()
    if isinstance(module, FullyConnected):
        return out.numel() * module.weight[0].numel()
    if isinstance(module, (ConvFusion, Conv3dFusion)):
        conv = module.conv
        return out.numel() * conv.weight[0].numel()
    if isinstance(module, BilinearFusion):
        a, b = inputs
        return a.numel() * b.shape[1] + out.numel() * module.fc.in_features
    return 0


def describe(preset: str | FusionConfig, num_classes: int = 101, input_size: int = 224,
             width: float = 1.0) -> ModelSummary:
    """Summarise a preset for one clip of its T snippets at ``input_size``.

    Raises:
        UnknownPresetError: unknown preset name.
        ConfigError, ShapeError: settings that do not build.

    Example:
        >>> describe("vggm-spatial").total_params
        90627813
    """
    config = get_config(preset, num_classes=num_classes, input_size=input_size, width=width)
    with torch.device("meta"):
        model = TwoStreamNet(config)
        size = (1, config.num_frames, input_size, input_size)
        rgb = torch.empty(size[0], 3, *size[1:]) if model.spatial is not None else None
        flow = torch.empty(size[0], 2 * config.flow_frames, *size[1:]) if model.temporal is not None else None
    rows: list[LayerRow] = []
    leaves = [(f"{tower}.{n}", m) for tower in ("spatial", "temporal") if getattr(model, tower) is not None
              for n, m in getattr(model, tower).named_children()]
    leaves += [(f"fusions.{n}", m) for n, m in model.fusions.items()]
    if model.pool3d is not None:
        leaves.append(("pool3d", model.pool3d))
    handles = []
    for name, module in leaves:
        def hook(mod: nn.Module, inputs: tuple[Any, ...], out: torch.Tensor, name: str = name) -> None:
            rows.append(LayerRow(name, type(mod).__name__, tuple(out.shape),
                                 sum(p.numel() for p in mod.parameters()), _macs(mod, inputs, out)))
        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(rgb, flow)
    finally:
        for handle in handles:
            handle.remove()
    total = sum(p.numel() for p in model.parameters())
    name = preset if isinstance(preset, str) else "custom"
    return ModelSummary(name, config, tuple(rows), total, sum(r.macs for r in rows))
