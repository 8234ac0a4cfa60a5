"""What runs the networks: training, the test protocol, its metrics and reports, late fusion, checkpoints.

- :mod:`~fusionnet.engine.checkpoint`: the one checkpoint format and run folder (:func:`load_checkpoint`);
- :mod:`~fusionnet.engine.devices`: the device a setting names, mixed precision;
- :mod:`~fusionnet.engine.train`: :class:`TrainConfig` and :func:`train` (sec. 3.5, DDP);
- :mod:`~fusionnet.engine.evaluate`: :class:`EvalConfig` and :func:`evaluate` (sec. 4.6);
- :mod:`~fusionnet.engine.metrics`: :func:`compute_metrics`;
- :mod:`~fusionnet.engine.reports`: :func:`write_evaluation`, the mean over splits, summaries;
- :mod:`~fusionnet.engine.late_fusion`: score files and :func:`fuse_scores` (Table 6).
"""

from .checkpoint import BEST_NAME as BEST_NAME
from .checkpoint import CONFIG_NAME as CONFIG_NAME
from .checkpoint import LAST_NAME as LAST_NAME
from .checkpoint import TRAINING_STATE as TRAINING_STATE
from .checkpoint import Checkpoint as Checkpoint
from .checkpoint import checkpoint_config as checkpoint_config
from .checkpoint import checkpoint_model as checkpoint_model
from .checkpoint import file_sha256 as file_sha256
from .checkpoint import load_checkpoint as load_checkpoint
from .checkpoint import model_from_checkpoint as model_from_checkpoint
from .checkpoint import non_finite_tensor as non_finite_tensor
from .checkpoint import open_checkpoint as open_checkpoint
from .checkpoint import save_checkpoint as save_checkpoint
from .checkpoint import save_weights as save_weights
from .checkpoint import split_checkpoints as split_checkpoints
from .devices import autocast as autocast
from .devices import resolve_device as resolve_device
from .devices import to_device as to_device
from .evaluate import EvalConfig as EvalConfig
from .evaluate import Evaluation as Evaluation
from .evaluate import evaluate as evaluate
from .late_fusion import FusedScores as FusedScores
from .late_fusion import ScoreFile as ScoreFile
from .late_fusion import fuse_scores as fuse_scores
from .late_fusion import read_scores as read_scores
from .late_fusion import score_line as score_line
from .late_fusion import write_scores as write_scores
from .metrics import Metrics as Metrics
from .metrics import compute_metrics as compute_metrics
from .reports import confusion_image as confusion_image
from .reports import mean_report as mean_report
from .reports import summary_markdown as summary_markdown
from .reports import write_evaluation as write_evaluation
from .reports import write_mean_report as write_mean_report
from .train import NAN_POLICIES as NAN_POLICIES
from .train import STAGES as STAGES
from .train import EpochMetrics as EpochMetrics
from .train import TrainConfig as TrainConfig
from .train import frozen_layers as frozen_layers
from .train import model_config as model_config
from .train import sampling_config as sampling_config
from .train import train as train

__all__ = [
    "BEST_NAME",
    "CONFIG_NAME",
    "LAST_NAME",
    "NAN_POLICIES",
    "STAGES",
    "TRAINING_STATE",
    "Checkpoint",
    "EpochMetrics",
    "EvalConfig",
    "Evaluation",
    "FusedScores",
    "Metrics",
    "ScoreFile",
    "TrainConfig",
    "autocast",
    "checkpoint_config",
    "checkpoint_model",
    "compute_metrics",
    "confusion_image",
    "evaluate",
    "file_sha256",
    "frozen_layers",
    "fuse_scores",
    "load_checkpoint",
    "mean_report",
    "model_config",
    "model_from_checkpoint",
    "non_finite_tensor",
    "open_checkpoint",
    "read_scores",
    "resolve_device",
    "sampling_config",
    "save_checkpoint",
    "save_weights",
    "score_line",
    "split_checkpoints",
    "summary_markdown",
    "to_device",
    "train",
    "write_evaluation",
    "write_mean_report",
    "write_scores",
]
