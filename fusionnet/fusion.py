"""Fusion of a spatial and a temporal tower, in space (sec. 3.1, 3.2) and in time (sec. 3.3, 3.4).

The fusion functions take two maps ``(N, D, H, W)`` at the same pixel positions: ``a`` from the
tower fused into (the spatial one, as in the paper), ``b`` from the other. Concatenation stacks
``a`` then ``b`` by halves, as the original code does, rather than interleaving the channels as
eq. (3) writes it; the two differ by a channel permutation that the next layer absorbs.

Clips are ``(B, C, T, H, W)``; the towers see their T snippets as one batch of ``B * T`` images.
:func:`head_names` and :func:`streams` say which heads and inputs a configuration has, and
:func:`combine_heads` is the one rule that turns the heads' scores into a prediction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .config import FusionConfig
from .errors import ConfigError, ShapeError
from .towers import FullyConnected, Tower

__all__ = [
    "BilinearFusion",
    "Conv3dFusion",
    "ConvFusion",
    "Pool3d",
    "SimpleFusion",
    "TwoStreamNet",
    "bilinear_fusion",
    "cat_fusion",
    "combine_heads",
    "gaussian_kernel3d",
    "head_names",
    "max_fusion",
    "pad_to",
    "streams",
    "sum_fusion",
]

Scores = TypeVar("Scores", torch.Tensor, np.ndarray)


def sum_fusion(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Eq. (1): ``a + b``."""
    return a + b


def max_fusion(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Eq. (2): element-wise maximum."""
    return torch.maximum(a, b)


def cat_fusion(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Eq. (3), by halves: ``(N, Da + Db, H, W)`` with ``a`` first."""
    return torch.cat((a, b), dim=1)


def bilinear_fusion(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Eq. (5): outer products summed over pixels, then signed square root and L2 normalisation.

    Shape:
        ``(N, Da, H, W)`` and ``(N, Db, H, W)`` to ``(N, Da * Db)``, row ``i`` of the ``Da x Db``
        matrix first.
    """
    y = torch.einsum("nihw,njhw->nij", a, b).flatten(1)
    y = torch.sign(y) * torch.sqrt(torch.abs(y))
    return y / y.norm(dim=1, keepdim=True).clamp_min(eps)


def pad_to(b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """``b`` zero-padded at the bottom and right to ``a``'s height and width (13x13 to 14x14).

    Raises:
        ShapeError: ``b`` is larger than ``a`` (fuse the larger map into the smaller one's tower
            is not supported: it would change that tower's downstream geometry).
    """
    dh, dw = a.shape[-2] - b.shape[-2], a.shape[-1] - b.shape[-1]
    if dh < 0 or dw < 0:
        raise ShapeError("fused map", f"at most {tuple(a.shape[-2:])} (the map fused into)", b.shape)
    return F.pad(b, (0, dw, 0, dh)) if dh or dw else b


class SimpleFusion(nn.Module):
    """Sum, max or concatenation fusion, which have no parameters."""

    _FUNCTIONS = {"sum": sum_fusion, "max": max_fusion, "concat": cat_fusion}

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self._FUNCTIONS[self.kind](a, b)

    def extra_repr(self) -> str:
        return self.kind


def _stacked_identity(channels: int, weights: tuple[float, float], like: torch.Tensor) -> torch.Tensor:
    eye = torch.eye(channels, dtype=like.dtype, device=like.device)
    return torch.cat((weights[0] * eye, weights[1] * eye), dim=1)


def _check_identity(init: str, ca: int, cb: int) -> None:
    if init not in ("identity", "gaussian"):
        raise ConfigError(f"fusion init must be 'identity' or 'gaussian', got {init!r}")
    if init == "identity" and ca != cb:
        raise ConfigError(f"identity initialisation needs equal channels, got {ca} and {cb}")


class ConvFusion(nn.Module):
    """Eq. (4): concatenation then a 1x1 convolution from ``Da + Db`` to ``Da`` channels.

    Args:
        init: ``"identity"``: ``[0.25 I, 0.75 I]`` (spatial half, temporal half) and bias 0, so that
            at initialisation it is ``0.25 a + 0.75 b``; ``"gaussian"``: N(0, 0.01^2), bias 0.
    """

    weights = (0.25, 0.75)

    def __init__(self, ca: int, cb: int, init: str = "identity") -> None:
        super().__init__()
        _check_identity(init, ca, cb)
        self.conv = nn.Conv2d(ca + cb, ca, 1)
        nn.init.zeros_(self.conv.bias)
        with torch.no_grad():
            if init == "identity":
                identity = _stacked_identity(ca, self.weights, self.conv.weight)
                self.conv.weight.copy_(identity[:, :, None, None])
            else:
                self.conv.weight.normal_(0.0, 0.01)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.conv(cat_fusion(a, b))


class BilinearFusion(nn.Module):
    """Bilinear fusion and the linear classifier that replaces the paper's SVM.

    Shape:
        ``(N, Da, H, W)``, ``(N, Db, H, W)`` to class scores ``(N, classes, 1, 1)``.
    """

    def __init__(self, ca: int, cb: int, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(ca * cb, num_classes)
        nn.init.normal_(self.fc.weight, 0.0, 0.01)
        nn.init.zeros_(self.fc.bias)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.fc(bilinear_fusion(a, b))[:, :, None, None]


def gaussian_kernel3d(size: int = 3, sigma: float = 1.0, like: torch.Tensor | None = None) -> torch.Tensor:
    """A ``size x size x size`` Gaussian of standard deviation ``sigma``, normalised to sum 1."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2) / (2 * sigma**2))
    g = g / g.sum()
    return g if like is None else g.to(dtype=like.dtype, device=like.device)


def to_clips(x: torch.Tensor, frames: int) -> torch.Tensor:
    """``(B * T, C, H, W)`` snippets to ``(B, C, T, H, W)`` clips."""
    n, c, h, w = x.shape
    return x.reshape(n // frames, frames, c, h, w).transpose(1, 2)


def to_snippets(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, T, H, W)`` clips to ``(B * T, C, H, W)`` snippets."""
    b, c, t, h, w = x.shape
    return x.transpose(1, 2).reshape(b * t, c, h, w)


class Conv3dFusion(nn.Module):
    """3D conv fusion (eq. 6, sec. 3.5): concatenation, a 3x3x3 convolution to ``Da`` channels, ReLU.

    Args:
        frames: T, the snippets per clip.
        init: ``"identity"``: ``[0.25 I, 0.75 I]`` times a 3x3x3 Gaussian of sigma 1 that sums to 1
            (the temporal half three times the spatial, whose activations are about 3 times
            larger), bias 0; ``"gaussian"``: N(0, 0.01^2).

    Shape:
        ``(B * T, Da, H, W)`` and ``(B * T, Db, H, W)`` to ``(B * T, Da, H, W)``.
    """

    def __init__(self, ca: int, cb: int, frames: int, init: str = "identity") -> None:
        super().__init__()
        _check_identity(init, ca, cb)
        self.frames = frames
        self.conv = nn.Conv3d(ca + cb, ca, 3, padding=1)
        self.relu = nn.ReLU()
        nn.init.zeros_(self.conv.bias)
        with torch.no_grad():
            if init == "identity":
                w = self.conv.weight
                w.copy_(_stacked_identity(ca, ConvFusion.weights, w)[:, :, None, None, None]
                        * gaussian_kernel3d(3, 1.0, like=w))
            else:
                self.conv.weight.normal_(0.0, 0.01)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return to_snippets(self.relu(self.conv(to_clips(cat_fusion(a, b), self.frames))))


class Pool3d(nn.Module):
    """3D max pooling of the original code's Pooling3D: size 2 x 2 x T, stride 2.

    Shape:
        ``(B * T, C, H, W)`` to ``(B * T', C, H // 2, W // 2)``, T' = 1 when the clip has T snippets.
    """

    def __init__(self, frames: int) -> None:
        super().__init__()
        self.frames = frames
        self.pool = nn.MaxPool3d((frames, 2, 2), stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return to_snippets(self.pool(to_clips(x, self.frames)))


class TwoStreamNet(nn.Module):
    """A spatial and a temporal tower with the fusions of a :class:`FusionConfig`.

    Build it with :func:`fusionnet.build_model`. ``forward`` returns the class scores of every
    head that has a loss: ``"fused"`` (the tower fused into), ``"spatial"`` and ``"temporal"``
    (towers not fused, or kept by the "+" form). :meth:`predict` gives the test-time prediction.

    Shape:
        rgb ``(B, 3, T, H, W)``, flow ``(B, 2L, T, H, W)`` with channels u1, v1, u2, v2, ...;
        every head ``(B, classes)``. Per-snippet scores (2D pooling) and score maps (fully
        convolutional form) are averaged.
    """

    def __init__(self, config: FusionConfig) -> None:
        super().__init__()
        self.config = cfg = config
        fused = cfg.fusion not in ("none", "late")
        common = dict(num_classes=cfg.num_classes, input_size=cfg.input_size, width=cfg.width,
                      drop_rate=cfg.drop_rate, fully_conv=cfg.fully_conv)
        last = cfg.layers[-1] if fused else None
        self.spatial = self.temporal = None
        if cfg.spatial:
            self.spatial = Tower(cfg.spatial, in_chans=3, last=last if cfg.fusion == "bilinear" else None,
                                 **common)
        if cfg.temporal:
            # the original temporal VGG-M has no LRN after conv2
            self.temporal = Tower(cfg.temporal, in_chans=2 * cfg.flow_frames, norm2=False,
                                  last=None if cfg.keep_temporal else last, **common)
        self.fusions = nn.ModuleDict()
        if fused:
            self._build_fusions()
        self.pool3d = Pool3d(cfg.num_frames) if cfg.pooling == "3d" else None

    def _build_fusions(self) -> None:
        cfg, s, t = self.config, self.spatial, self.temporal
        assert s is not None and t is not None  # FusionConfig checks it
        order_s = [s.position(p) for p in cfg.layers]
        order_t = [t.position(p) for p in cfg.layers]
        if order_s != sorted(set(order_s)) or order_t != sorted(set(order_t)):
            raise ConfigError(f"fusion layers must be distinct and in network order, got {cfg.layers}")
        if cfg.fusion == "conv3d" and cfg.pooling == "3d" and order_s[-1] > s.position("pool5"):
            raise ConfigError(f"3D conv fusion at {cfg.layers[-1]} comes after the 3D pooling at pool5, "
                              "which leaves one snippet per clip; fuse at relu5 or before")
        for point in cfg.layers:
            ca, cb = _channels(s, point), _channels(t, point)
            if cfg.fusion in ("sum", "max") and ca != cb:
                raise ConfigError(f"{cfg.fusion} fusion at {point} needs equal channels, got {ca} and {cb}")
            if cfg.fusion in ("sum", "max", "concat"):
                module: nn.Module = SimpleFusion(cfg.fusion)
            elif cfg.fusion == "conv":
                module = ConvFusion(ca, cb, cfg.fusion_init)
            elif cfg.fusion == "conv3d":
                module = Conv3dFusion(ca, cb, cfg.num_frames, cfg.fusion_init)
            else:
                module = BilinearFusion(ca, cb, cfg.num_classes)
            if cfg.fusion == "concat":
                s.expand_input(point, ca + cb)
            self.fusions[point] = module

    def forward(self, rgb: torch.Tensor | None = None,
                flow: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        cfg = self.config
        batch, s, t = self._snippets(rgb, flow)
        heads: dict[str, torch.Tensor] = {}
        if not self.fusions:
            for name, tower, x in (("spatial", self.spatial, s), ("temporal", self.temporal, t)):
                if tower is not None:
                    heads[name] = self._scores(self._run(tower, x, None, None), batch)
            return heads
        assert self.spatial is not None and self.temporal is not None and s is not None and t is not None
        after = None
        for point, fuse in self.fusions.items():
            s = self._run(self.spatial, s, after, point)
            t = self._run(self.temporal, t, after, point)
            s, after = fuse(s, pad_to(t, s)), point
        heads["fused"] = self._scores(self._run(self.spatial, s, after, None), batch)
        if cfg.keep_temporal:
            heads["temporal"] = self._scores(self._run(self.temporal, t, after, None), batch)
        return heads

    @torch.no_grad()
    def predict(self, rgb: torch.Tensor | None = None, flow: torch.Tensor | None = None) -> torch.Tensor:
        """Test-time class probabilities ``(B, classes)``.

        Late fusion averages the heads' softmax; the other models average the heads' fc8 scores
        (Table 4: "we average the FC8 predictions for both towers") and apply softmax.
        """
        late = self.config.fusion == "late"
        combined = combine_heads(self.forward(rgb, flow), late)
        return combined if late else combined.softmax(1)

    def set_fully_conv(self, enabled: bool = True) -> TwoStreamNet:
        """Switch both towers between the linear and the fully convolutional form; returns self."""
        for tower in (self.spatial, self.temporal):
            if tower is not None:
                tower.set_fully_conv(enabled)
        return self

    def _snippets(self, rgb: torch.Tensor | None,
                  flow: torch.Tensor | None) -> tuple[int, torch.Tensor | None, torch.Tensor | None]:
        """The batch size and both clips as snippets, after checking their shapes."""
        frames = str(self.config.num_frames) if self._fixed_frames else "T"
        rgb = self._check_clip("rgb", rgb, self.spatial, f"(B, 3, {frames}, H, W)")
        chans = 2 * self.config.flow_frames
        flow = self._check_clip("flow", flow, self.temporal, f"(B, {chans}, {frames}, H, W)")
        if rgb is not None and flow is not None and \
                (rgb.shape[0], *rgb.shape[2:]) != (flow.shape[0], *flow.shape[2:]):
            raise ShapeError("flow clip", f"the batch, T, H and W of the rgb clip {tuple(rgb.shape)}",
                             flow.shape)
        clip = rgb if rgb is not None else flow
        assert clip is not None
        return clip.shape[0], *(None if x is None else to_snippets(x) for x in (rgb, flow))

    def _check_clip(self, name: str, x: torch.Tensor | None, tower: Tower | None,
                    expected: str) -> torch.Tensor | None:
        if tower is None:
            return None
        if x is None:
            raise ShapeError(f"{name} clip", expected, ())
        wrong_frames = self._fixed_frames and x.ndim == 5 and x.shape[2] != self.config.num_frames
        if x.ndim != 5 or x.shape[1] != tower.in_chans or wrong_frames:
            raise ShapeError(f"{name} clip", expected, x.shape)
        return x

    @property
    def _fixed_frames(self) -> bool:
        # 3D pooling and 3D convolution are built for exactly T snippets; 2D models take any number
        return self.pool3d is not None or self.config.fusion == "conv3d"

    def _run(self, tower: Tower, x: torch.Tensor, after: str | None, upto: str | None) -> torch.Tensor:
        """``tower.run``, with pool5 replaced by 3D pooling when the model pools in 3D."""
        names = tower.names
        lo = names.index(tower.resolve(after)) if after is not None else -1
        hi = names.index(tower.resolve(upto)) if upto is not None else len(names) - 1
        if self.pool3d is None or "pool5" not in names or not lo < names.index("pool5") <= hi:
            return tower.run(x, after, upto)
        x = self.pool3d(tower.run(x, after, tower.before("pool5")))
        return tower.run(x, "pool5", upto)

    @staticmethod
    def _scores(x: torch.Tensor, batch: int) -> torch.Tensor:
        # score maps of the fully convolutional form and per-snippet scores are both averaged
        return x.mean(dim=(2, 3)).reshape(batch, -1, x.shape[1]).mean(1)


def _channels(tower: Tower, name: str) -> int:
    """Channels of ``tower``'s output at layer ``name``."""
    channels, target = tower.in_chans, tower.resolve(name)
    for layer_name, layer in tower.named_children():
        if isinstance(layer, nn.Conv2d):
            channels = layer.out_channels
        elif isinstance(layer, FullyConnected):
            channels = layer.weight.shape[0]
        if layer_name == target:
            return channels
    raise ConfigError(f"layer {name!r} is not in this {tower.arch} tower")


def head_names(arch: FusionConfig) -> list[str]:
    """The heads :class:`TwoStreamNet` returns for ``arch``, in its order."""
    if arch.fusion in ("none", "late"):
        return [n for n, t in (("spatial", arch.spatial), ("temporal", arch.temporal)) if t is not None]
    return ["fused", "temporal"] if arch.keep_temporal else ["fused"]


def streams(arch: FusionConfig) -> tuple[str, ...]:
    """The inputs a model of ``arch`` takes: ``("rgb",)``, ``("flow",)`` or both."""
    return tuple(s for s, tower in (("rgb", arch.spatial), ("flow", arch.temporal)) if tower is not None)


def combine_heads(heads: Mapping[str, Scores], late: bool) -> Scores:
    """The prediction of several heads' scores ``(N, C)``: the mean of their fc8 scores, or for late
    fusion the mean of their softmax.

    The one rule of :meth:`TwoStreamNet.predict` (which then applies softmax to the fc8 mean),
    validation in training and the test protocol. NumPy scores (a video's averaged scores in
    evaluation) are combined in float64 and come back as NumPy.

    Example:
        >>> heads = {"fused": torch.tensor([[4.0, 0.0]]), "temporal": torch.tensor([[0.0, 2.0]])}
        >>> combine_heads(heads, late=False)
        tensor([[2., 1.]])
    """
    if not all(isinstance(h, torch.Tensor) for h in heads.values()):
        as_tensors = {k: torch.from_numpy(np.asarray(h, np.float64)) for k, h in heads.items()}
        return combine_heads(as_tensors, late).numpy()
    return torch.stack([h.softmax(1) if late else h for h in heads.values()]).mean(0)
