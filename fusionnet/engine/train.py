"""Training the streams and the fusion networks: the recipe of sec. 3.5, resumable, one GPU to many.

A run lives in one folder: ``config.json`` (everything that made it), ``metrics.jsonl`` (one line
per epoch), ``last.pt`` (the state after the latest epoch: model, optimiser, scheduler, scaler,
epoch, step, RNG states, configuration; replaced atomically) and ``best.pt`` (the model at its
best validation accuracy); :mod:`fusionnet.engine.checkpoint` writes and reads the checkpoints.
Checkpoints only ever hold finite weights: a non-finite loss or gradient stops the run
(``nan_policy="stop"``) or skips that optimiser step (``"skip"``), and a step that makes the
weights non-finite always stops it, so the files on disk keep the last good epoch.
``resume=True`` continues from ``last.pt`` and gives the same losses as an uninterrupted run:
every random choice is a function of the seed, the epoch and the sample (see
:class:`fusionnet.ClipDataset`), and the dropout RNG is saved with the state.

Under ``torchrun`` each process trains on its share of every batch (DDP); only rank 0 writes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.distributed as dist
from torch import nn

from flowkit import __version__, atomic_write
from flowkit.config import JsonConfig

from ..config import FusionConfig
from ..data.datasets import ClipDataset, iter_batches, make_loader
from ..data.frames import open_frames
from ..data.sampling import SamplingConfig
from ..data.splits import Split, check_available, load_split
from ..errors import CheckpointError, ConfigError, TrainError
from ..fusion import TwoStreamNet, combine_heads, head_names, streams
from ..presets import get_config
from ..towers import FullyConnected, Tower
from ..weights import load_tower
from .checkpoint import (
    BEST_NAME,
    CONFIG_NAME,
    LAST_NAME,
    checkpoint_model,
    load_checkpoint,
    non_finite_tensor,
    save_checkpoint,
    save_weights,
)
from .devices import autocast, resolve_device, to_device

__all__ = [
    "NAN_POLICIES",
    "STAGES",
    "EpochMetrics",
    "TrainConfig",
    "frozen_layers",
    "model_config",
    "sampling_config",
    "train",
]

log = logging.getLogger(__name__)

STAGES = ("spatial", "temporal", "fusion")
NAN_POLICIES = ("stop", "skip")  # what a non-finite loss or gradient does (TrainConfig.nan_policy)
# settings a resumed run may change: they do not alter what it computes
_RESUMABLE = ("epochs", "workers", "device", "nan_policy")


@dataclass(frozen=True)
class TrainConfig(JsonConfig):
    """One training run: data, model, recipe and machinery. Written to ``config.json``.

    The defaults are the paper's (sec. 3.5): SGD with momentum 0.9, weight decay 5e-4 (not on
    biases), an effective batch of 96, learning rate 1e-3 for fusion and 1e-2 for streams,
    divided by 10 when validation accuracy stops improving, back-propagation only down to the
    fusion layer.
    """

    config_error: ClassVar[type[Exception]] = ConfigError

    stage: str
    preset: str
    data: str
    dataset: str
    splits_dir: str
    out: str
    split: int = 1
    epochs: int = 1
    batch_size: int = 96
    accumulate: int = 1
    lr: float | None = None  # None: 1e-3 for fusion, 1e-2 for streams
    momentum: float = 0.9
    weight_decay: float = 5e-4
    patience: int = 2  # epochs without a better validation accuracy before the rate drops 10x
    input_size: int = 224
    width: float = 1.0
    num_frames: int | None = None  # T; None: the preset's
    flow_frames: int = 10  # L
    stride: tuple[int, int] = (1, 10)
    crop: str | None = None  # None: "corners" for streams, "jitter" for fusion
    drop_rate: tuple[float, float] | None = None  # None: the preset's (0.85, 0.85)
    full_backprop: bool = False
    amp: str = "auto"  # "auto" (bf16 on CUDA, off on the CPU), "off", "bf16", "fp16"
    workers: int = 2
    seed: int = 0
    spatial_ckpt: str | None = None
    temporal_ckpt: str | None = None
    imagenet: str | None = None
    imagenet_temporal: str | None = None
    allow_missing: bool = False
    val_limit: int | None = None  # validate on the first N test videos (all when None)
    device: str = "auto"
    tensorboard: bool = False
    nan_policy: str = "stop"  # a non-finite loss or gradient: "stop" the run, or "skip" that optimiser step

    def __post_init__(self) -> None:
        object.__setattr__(self, "stride", tuple(self.stride))
        if self.drop_rate is not None:
            object.__setattr__(self, "drop_rate", tuple(self.drop_rate))
        if self.stage not in STAGES:
            raise ConfigError(f"stage must be one of {', '.join(STAGES)}, got {self.stage!r}")
        for name in ("epochs", "batch_size", "accumulate", "patience", "input_size", "flow_frames"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be a finite number above 0, got {self.lr}")
        if self.nan_policy not in NAN_POLICIES:
            raise ConfigError(f"nan_policy must be stop or skip, got {self.nan_policy!r}")
        if self.amp not in ("auto", "off", "bf16", "fp16"):
            raise ConfigError(f"amp must be auto, off, bf16 or fp16, got {self.amp!r}")
        if self.stage != "fusion" and (self.spatial_ckpt or self.temporal_ckpt):
            raise ConfigError("--spatial-ckpt and --temporal-ckpt start a fusion stage")
        if (self.spatial_ckpt or self.temporal_ckpt) and self.imagenet:
            raise ConfigError("start from the stream checkpoints or from ImageNet weights, not both")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (1e-3 if self.stage == "fusion" else 1e-2)


@dataclass
class EpochMetrics:
    """One line of ``metrics.jsonl``."""

    epoch: int
    loss: float
    train_accuracy: float
    val_accuracy: float
    lr: float
    clips_per_second: float
    seconds: float
    step: int
    heads: dict[str, float] = field(default_factory=dict)  # validation accuracy per head
    skipped_batches: int = 0  # batches whose optimiser step a non-finite loss or gradient skipped


def model_config(config: TrainConfig, num_classes: int) -> FusionConfig:
    """The architecture a training stage builds, checked against the stage."""
    overrides: dict[str, Any] = {"num_classes": num_classes, "input_size": config.input_size,
                                 "width": config.width, "flow_frames": config.flow_frames}
    if config.num_frames is not None:
        overrides["num_frames"] = config.num_frames
    if config.drop_rate is not None:
        overrides["drop_rate"] = config.drop_rate
    arch = get_config(config.preset, **overrides)
    towers = {"spatial": (True, False), "temporal": (False, True)}.get(config.stage, (True, True))
    if ((arch.spatial is not None), (arch.temporal is not None)) != towers:
        raise ConfigError(f"preset {config.preset!r} does not fit the {config.stage} stage "
                          "(streams take a single-tower preset, fusion a two-tower one)")
    return arch


def sampling_config(config: TrainConfig, arch: FusionConfig) -> SamplingConfig:
    """How a training stage samples its clips (saved in ``config.json`` for evaluation)."""
    crop = config.crop or ("jitter" if config.stage == "fusion" else "corners")
    return SamplingConfig(streams=streams(arch), num_frames=arch.num_frames, flow_frames=arch.flow_frames,
                          stride=config.stride, input_size=config.input_size, crop=crop)


def train(config: TrainConfig, resume: bool = False, progress: bool = True,
          on_epoch: Callable[[EpochMetrics], None] | None = None) -> list[EpochMetrics]:
    """Train as ``config`` says; returns the metrics of every epoch of the run.

    Raises:
        ConfigError: settings that do not fit (preset and stage, options).
        TrainError: a run folder that cannot be resumed or is used by another run; a non-finite loss
            or gradient (see ``TrainConfig.nan_policy``) or weights a step made non-finite.
        CheckpointError: a ``last.pt`` to resume or a stream checkpoint that is not usable.
        DataError, SplitError: the data or the split files.
        WeightsError: initial weights that do not fit the model.
    """
    with _distributed() as (rank, world, device):
        return _Trainer(config, rank, world, device, progress).run(resume, on_epoch)


@contextmanager
def _distributed() -> Iterator[tuple[int, int, torch.device]]:
    """``(rank, world size, device)``, with a process group when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        yield 0, 1, resolve_device()
        return
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local)
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        yield dist.get_rank(), dist.get_world_size(), resolve_device(index=local if cuda else None)
        # a rank that tears down while another still writes its checkpoint aborts gloo
        dist.barrier()
    finally:
        dist.destroy_process_group()


class _Trainer:
    def __init__(self, config: TrainConfig, rank: int, world: int, device: torch.device, progress: bool) -> None:
        if config.device != "auto":
            device = resolve_device(config.device)
        self.config, self.rank, self.world, self.device = config, rank, world, device
        self.progress = progress and rank == 0
        self.out = Path(config.out)
        if config.batch_size % world:
            raise ConfigError(f"batch size {config.batch_size} must divide over {world} processes")
        self.local_batch = config.batch_size // world

    def run(self, resume: bool, on_epoch: Callable[[EpochMetrics], None] | None) -> list[EpochMetrics]:
        config = self.config
        torch.manual_seed(config.seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        writer = self._tensorboard()
        split = self._split()
        arch = model_config(config, len(split.classes))
        model = TwoStreamNet(arch).to(self.device)
        state = self._load_state(resume)
        if state is None:
            self._initialise(model)
        self._freeze(model)
        optimizer = _optimizer(model, config)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.1,
                                                               patience=config.patience - 1)
        amp = self._amp_dtype()
        scaler = torch.amp.GradScaler("cuda", enabled=amp == torch.float16)
        start_epoch, step, best = 0, 0, -1.0
        if state is not None:
            start_epoch, step, best = self._restore(state, model, optimizer, scheduler, scaler)
        else:
            self._start_folder(arch, split)
        sampling = sampling_config(config, arch)
        train_set = ClipDataset(config.data, split.train, sampling, train=True, seed=config.seed)
        tests = split.test[: config.val_limit] if config.val_limit else split.test
        val_set = ClipDataset(config.data, tests, sampling, train=False, seed=config.seed)
        net = self._wrap(model)
        train_loader, val_loader = self._loader(train_set, True), self._loader(val_set, False)
        history = []
        for epoch in range(start_epoch, config.epochs):
            started = time.perf_counter()
            train_loader.sampler.set_epoch(epoch)
            loss, accuracy, clips, step, skipped = self._train_epoch(net, train_loader, optimizer, scaler,
                                                                     amp, epoch, step)
            seconds = time.perf_counter() - started
            val, heads = self._validate(model, val_loader, amp)
            lr = optimizer.param_groups[0]["lr"]
            scheduler.step(val)
            metrics = EpochMetrics(epoch=epoch + 1, loss=loss, train_accuracy=accuracy, val_accuracy=val,
                                   lr=lr, clips_per_second=clips / seconds if seconds > 0 else 0.0,
                                   seconds=round(seconds, 3), step=step, heads=heads, skipped_batches=skipped)
            if skipped:  # also in metrics.jsonl and on tsf train's epoch line
                log.info("epoch %d: %d of %d batches skipped (non-finite loss or gradient)", epoch + 1,
                         skipped, len(train_loader))
            improved = val > best
            best = max(best, val)
            if self.rank == 0:
                self._save(model, optimizer, scheduler, scaler, epoch + 1, step, best, improved)
                self._append_metrics(metrics, writer)
            history.append(metrics)
            if on_epoch is not None and self.rank == 0:
                on_epoch(metrics)
        if writer is not None:
            writer.close()
        return history

    def _split(self) -> Split:
        config = self.config
        split = load_split(config.dataset, config.splits_dir, config.split)
        available = open_frames(config.data).ids()
        return check_available(split, available, config.allow_missing)

    def _restore(self, state: dict[str, Any], model: TwoStreamNet, optimizer: Any, scheduler: Any,
                 scaler: Any) -> tuple[int, int, float]:
        """Load a resumed run's state; returns its epoch, step and best validation accuracy."""
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            scaler.load_state_dict(state["scaler"])
            torch.set_rng_state(state["rng"]["cpu"])
            if self.device.type == "cuda" and state["rng"].get("cuda") is not None:
                torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
            return int(state["epoch"]), int(state["step"]), float(state["best"])
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
            # load_state_dict lists every mismatched key on lines of their own
            detail = " ".join(str(e).split())
            raise CheckpointError(str(self.out / LAST_NAME), f"cannot restore the training state from it "
                                  f"({type(e).__name__}: {detail}); start a new run in another --out") from e

    def _initialise(self, model: TwoStreamNet) -> None:
        config = self.config
        skip = _expanded_layers(model)
        for role, tower in (("spatial", model.spatial), ("temporal", model.temporal)):
            if tower is None:
                continue
            ckpt = config.spatial_ckpt if role == "spatial" else config.temporal_ckpt
            imagenet = config.imagenet_temporal if role == "temporal" and config.imagenet_temporal \
                else config.imagenet
            if ckpt:
                load_tower(tower, _tower_state(ckpt, role), skip)
            elif imagenet:
                load_tower(tower, imagenet, skip)
            else:
                log.warning("the %s tower starts from random weights (no checkpoint or ImageNet file given)",
                            role)

    def _freeze(self, model: TwoStreamNet) -> None:
        """Freeze both towers' layers up to the first fusion point (the paper back-propagates only
        into the layers after fusion), unless ``full_backprop``."""
        if self.config.full_backprop or not model.fusions:
            return
        frozen = frozen_layers(model)
        for name, param in model.named_parameters():
            if name.rpartition(".")[0] in frozen:
                param.requires_grad_(False)
        log.info("frozen below the fusion: %s", ", ".join(frozen))

    def _amp_dtype(self) -> torch.dtype | None:
        choice = self.config.amp
        if choice == "off" or (choice == "auto" and self.device.type != "cuda"):
            return None
        if self.device.type != "cuda":
            raise ConfigError(f"--amp {choice} needs a CUDA device")
        return torch.float16 if choice == "fp16" else torch.bfloat16

    def _wrap(self, model: nn.Module) -> nn.Module:
        if self.world == 1:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def _loader(self, dataset: ClipDataset, train: bool) -> Any:
        if train:
            sampler = torch.utils.data.DistributedSampler(dataset, num_replicas=self.world, rank=self.rank,
                                                          shuffle=True, seed=self.config.seed)
        else:
            sampler = list(range(self.rank, len(dataset), self.world))
        return make_loader(dataset, self.local_batch, self.config.workers, sampler=sampler, seed=self.config.seed)

    def _train_epoch(self, net: nn.Module, loader: Any, optimizer: torch.optim.Optimizer, scaler: Any,
                     amp: torch.dtype | None, epoch: int, step: int) -> tuple[float, float, int, int, int]:
        """One pass over ``loader``: ``(mean loss, accuracy, clips, step, skipped batches)``, over the
        batches whose optimiser step was taken.

        Raises:
            TrainError: a non-finite loss or gradient (``nan_policy="stop"``, or every batch skipped),
                or weights that a step made non-finite.
        """
        config = self.config
        model = getattr(net, "module", net)  # unwrapped from DDP: parameter names without "module."
        net.train()
        steps = math.ceil(len(loader) / config.accumulate)
        totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, clips
        pending = torch.zeros(3, dtype=torch.float64)  # the same for the batches of the step under way
        bar = self._bar(steps, f"epoch {epoch + 1}/{config.epochs}")
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        skipped, batches, broken = 0, 0, False  # broken: the step under way saw a non-finite loss
        for i, batch in enumerate(iter_batches(loader)):
            labels = batch["label"].to(self.device)
            last_of_step = (i + 1) % config.accumulate == 0 or i + 1 == len(loader)
            sync = nullcontext() if last_of_step or self.world == 1 else net.no_sync()
            where = f"epoch {epoch + 1}, step {step + 1} (batch {i + 1} of {len(loader)})"
            batches += 1
            with sync, autocast(self.device, amp):
                heads = net(**to_device(batch, self.device))
                loss = sum(nn.functional.cross_entropy(h.float(), labels) for h in heads.values())
            # every process takes the same branch: a backward on some of them only would hang DDP
            if self._everywhere(bool(torch.isfinite(loss))):
                scaler.scale(loss / config.accumulate).backward()
                with torch.no_grad():
                    # training accuracy: the heads' fc8 mean, late fusion included
                    scores = combine_heads({k: h.float() for k, h in heads.items()}, late=False)
                    row = [loss.item() * len(labels), (scores.argmax(1) == labels).sum().item(), len(labels)]
                    pending += torch.tensor(row, dtype=torch.float64)
            else:
                self._non_finite(f"loss ({loss.item()})", where, epoch)
                broken = True
            if not last_of_step:
                continue
            if not broken and not scaler.is_enabled():  # a GradScaler skips its non-finite steps itself
                grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
                bad = non_finite_tensor(grads)
                if not self._everywhere(bad is None):
                    self._non_finite(f"gradient (of {bad})" if bad else "gradient", where, epoch)
                    broken = True
            if broken:
                skipped += batches
            else:
                scaler.step(optimizer)
                scaler.update()
                step += 1
                totals += pending
                # DDP keeps the weights equal on every process, so all of them stop here alike
                bad = non_finite_tensor(dict(model.named_parameters()))
                if bad is not None:
                    raise TrainError(f"the optimiser step of {where} made the weights non-finite (first: "
                                     f"{bad}) though the loss and gradients were finite; stopped, "
                                     f"{self._kept(epoch)}; lower --lr")
            optimizer.zero_grad(set_to_none=True)
            pending.zero_()
            batches, broken = 0, False
            if bar is not None:
                rate = totals[2].item() * self.world / max(time.perf_counter() - started, 1e-9)
                bar.set_postfix(loss=f"{loss.item():.3f}", clips_per_s=f"{rate:.1f}", refresh=False)
                bar.update(1)
        if bar is not None:
            bar.close()
        if skipped == len(loader):
            raise TrainError(f"epoch {epoch + 1}: every batch ({skipped}) had a non-finite loss or gradient "
                             f"and was skipped; stopped, {self._kept(epoch)}; lower --lr")
        totals = self._all_reduce(totals)
        clips = totals[2].item()
        return totals[0].item() / clips, totals[1].item() / clips, int(clips), step, skipped

    def _non_finite(self, what: str, where: str, epoch: int) -> None:
        """Stop the run on a non-finite ``what`` (``nan_policy="stop"``), or log the skipped step."""
        if self.config.nan_policy == "stop":
            raise TrainError(f"non-finite {what} in {where}; stopped, {self._kept(epoch)}; lower --lr, or "
                             "pass --nan-policy skip to skip such batches")
        log.info("non-finite %s in %s: its optimiser step is skipped", what, where)

    def _kept(self, epoch: int) -> str:
        """What a run stopped in ``epoch`` (0-based) leaves on disk."""
        if epoch == 0:
            return "no checkpoint written"
        return f"{self.out / LAST_NAME} keeps epoch {epoch}"

    def _everywhere(self, ok: bool) -> bool:
        """Whether ``ok`` holds on every process (an all-reduce under DDP)."""
        return self._all_reduce(torch.tensor([0.0 if ok else 1.0], dtype=torch.float64)).item() == 0

    @torch.no_grad()
    def _validate(self, model: TwoStreamNet, loader: Any, amp: torch.dtype | None) -> tuple[float, dict]:
        model.eval()
        names = head_names(model.config)
        # the same size on every rank, even one without validation videos, for the all-reduce
        totals = torch.zeros(len(names) + 2, dtype=torch.float64)
        for batch in iter_batches(loader):
            labels = batch["label"].to(self.device)
            with autocast(self.device, amp):
                heads = {k: v.float() for k, v in model(**to_device(batch, self.device)).items()}
            fused = combine_heads(heads, model.config.fusion == "late")
            row = [(heads[name].argmax(1) == labels).sum().item() for name in names]
            row += [(fused.argmax(1) == labels).sum().item(), len(labels)]
            totals += torch.tensor(row, dtype=torch.float64)
        totals = self._all_reduce(totals)
        count = max(totals[-1].item(), 1.0)
        heads = {name: totals[i].item() / count for i, name in enumerate(names)}
        return totals[-2].item() / count, heads

    def _all_reduce(self, totals: torch.Tensor) -> torch.Tensor:
        if self.world > 1:
            moved = totals.to(self.device)
            dist.all_reduce(moved)
            return moved.cpu()
        return totals

    def _bar(self, total: int, desc: str) -> Any:
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="step", leave=False, dynamic_ncols=True)

    def _tensorboard(self) -> Any:
        if not self.config.tensorboard:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:
            raise ConfigError("--tensorboard needs the tensorboard package (pip install tensorboard)") from e
        return SummaryWriter(str(self.out / "tensorboard")) if self.rank == 0 else None

    def _load_state(self, resume: bool) -> dict[str, Any] | None:
        path = self.out / LAST_NAME
        if not resume:
            if path.exists():
                raise TrainError(f"{self.out} already holds a run; pass --resume to continue it, "
                                 "or choose another --out")
            return None
        if not path.exists():
            raise TrainError(f"{path}: no checkpoint to resume from")
        state = load_checkpoint(path, resume=True)
        try:
            saved = TrainConfig.from_dict(state["config"])
        except (ConfigError, TypeError) as e:
            raise CheckpointError(str(path), f"its 'config' is not a tsf train run's settings ({e})") from e
        mine = dataclasses.replace(self.config, **{name: getattr(saved, name) for name in _RESUMABLE})
        changed = _changed_settings(saved, mine)
        if changed:
            raise TrainError(f"{path} was made with other settings ({', '.join(changed)} differ); "
                             "only --epochs, --workers, --device and --nan-policy may change on resume")
        return state

    def _start_folder(self, arch: FusionConfig, split: Split) -> None:
        if self.rank != 0:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        record = {"train": self.config.to_dict(), "model": arch.to_dict(), "classes": list(split.classes),
                  "sampling": sampling_config(self.config, arch).to_dict(), "world_size": self.world,
                  "tsf_version": __version__}
        atomic_write(self.out / CONFIG_NAME, (json.dumps(record, indent=2) + "\n").encode())
        (self.out / "metrics.jsonl").write_text("")

    def _save(self, model: TwoStreamNet, optimizer: Any, scheduler: Any, scaler: Any, epoch: int, step: int,
              best: float, improved: bool) -> None:
        rng = {"cpu": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None}
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "epoch": epoch,
                 "step": step, "best": best, "rng": rng, "config": self.config.to_dict(),
                 "model_config": model.config.to_dict()}
        save_checkpoint(state, self.out / LAST_NAME)
        if improved:
            save_weights(model, self.out / BEST_NAME, epoch)

    def _append_metrics(self, metrics: EpochMetrics, writer: Any) -> None:
        path = self.out / "metrics.jsonl"
        lines = [line for line in path.read_text().splitlines()
                 if line and json.loads(line)["epoch"] < metrics.epoch]
        # strict JSON: a NaN here would be a bug (non-finite losses never reach the metrics)
        lines.append(json.dumps(dataclasses.asdict(metrics), sort_keys=True, allow_nan=False))
        atomic_write(path, ("\n".join(lines) + "\n").encode())
        if writer is not None:
            for key in ("loss", "train_accuracy", "val_accuracy", "lr", "clips_per_second"):
                writer.add_scalar(key, getattr(metrics, key), metrics.epoch)


# the paths a resumed run compares by the file they name, not by how they are spelled
_PATH_FIELDS = ("data", "splits_dir", "spatial_ckpt", "temporal_ckpt", "imagenet", "imagenet_temporal")


def _changed_settings(saved: TrainConfig, mine: TrainConfig) -> list[str]:
    """The settings in which a resume differs from the run it continues.

    ``out`` never counts: the run is the folder that holds the checkpoint, wherever it now is and
    however its path is written (relative, absolute, moved).
    """
    changed = []
    for f in dataclasses.fields(saved):
        old, new = getattr(saved, f.name), getattr(mine, f.name)
        if f.name == "out":
            continue
        if f.name in _PATH_FIELDS and old is not None and new is not None:
            old, new = os.path.realpath(old), os.path.realpath(new)
        if old != new:
            changed.append(f.name)
    return changed


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """SGD with momentum; weight decay on weights only, not on biases."""
    weights = [p for n, p in model.named_parameters() if p.requires_grad and not n.endswith("bias")]
    biases = [p for n, p in model.named_parameters() if p.requires_grad and n.endswith("bias")]
    if not weights and not biases:
        raise ConfigError("every parameter is frozen: nothing to train")
    return torch.optim.SGD([{"params": weights, "weight_decay": config.weight_decay},
                            {"params": biases, "weight_decay": 0.0}],
                           lr=config.learning_rate, momentum=config.momentum)


def _expanded_layers(model: TwoStreamNet) -> tuple[str, ...]:
    """Layers that concatenation fusion widened: their pretrained weights no longer fit."""
    if model.config.fusion != "concat" or model.spatial is None:
        return ()
    tower: Tower = model.spatial
    names = []
    for point in model.config.layers:
        after = [n for n in tower.names if tower.position(n) > tower.position(point)]
        names.append(next(n for n in after if isinstance(getattr(tower, n), (nn.Conv2d, FullyConnected))))
    return tuple(names)


def _tower_state(path: str, role: str) -> dict[str, torch.Tensor]:
    """The ``role`` tower's weights in a stream checkpoint of ours (``last.pt`` or ``best.pt``)."""
    weights, _ = checkpoint_model(load_checkpoint(path))
    prefix = f"{role}."
    tower = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    if not tower:
        raise TrainError(f"{path}: holds no {role} tower (is it a {role} stream checkpoint?)")
    return tower


def frozen_layers(model: TwoStreamNet) -> list[str]:
    """The tower layers (``spatial.conv1``, ...) at or below the model's first fusion point."""
    first = model.config.layers[0]
    names = []
    for role, tower in (("spatial", model.spatial), ("temporal", model.temporal)):
        assert tower is not None
        stop = tower.position(first)
        names += [f"{role}.{name}" for name, layer in tower.named_children()
                  if tower.position(name) <= stop and any(True for _ in layer.parameters())]
    return names

