"""fusionnet: the two-stream towers and every fusion of Feichtenhofer, Pinz and Zisserman (CVPR 2016).

The names here are what a user builds, calls and catches. The rest stays importable from where it
lives: the architecture in :mod:`fusionnet.config`, :mod:`fusionnet.towers`, :mod:`fusionnet.fusion`,
:mod:`fusionnet.presets`, :mod:`fusionnet.weights` and :mod:`fusionnet.describe`; what the networks
read in :mod:`fusionnet.data`; training, evaluation and checkpoints in :mod:`fusionnet.engine`.
"""

from .config import FusionConfig as FusionConfig
from .data import ClipDataset as ClipDataset
from .data import EvalDataset as EvalDataset
from .data import SamplingConfig as SamplingConfig
from .data import check_available as check_available
from .data import load_split as load_split
from .data import make_loader as make_loader
from .data import open_frames as open_frames
from .data import write_mmaction_lists as write_mmaction_lists
from .describe import describe as describe
from .engine import EvalConfig as EvalConfig
from .engine import TrainConfig as TrainConfig
from .engine import compute_metrics as compute_metrics
from .engine import evaluate as evaluate
from .engine import fuse_scores as fuse_scores
from .engine import load_checkpoint as load_checkpoint
from .engine import model_from_checkpoint as model_from_checkpoint
from .engine import open_checkpoint as open_checkpoint
from .engine import read_scores as read_scores
from .engine import train as train
from .engine import write_evaluation as write_evaluation
from .errors import CheckpointError as CheckpointError
from .errors import ConfigError as ConfigError
from .errors import DataError as DataError
from .errors import EvaluationError as EvaluationError
from .errors import FusionnetError as FusionnetError
from .errors import ScoresError as ScoresError
from .errors import ShapeError as ShapeError
from .errors import SplitError as SplitError
from .errors import TrainError as TrainError
from .errors import UnknownPresetError as UnknownPresetError
from .errors import WeightsError as WeightsError
from .errors import WeightsNotFoundError as WeightsNotFoundError
from .fusion import TwoStreamNet as TwoStreamNet
from .presets import PAPER_ROWS as PAPER_ROWS
from .presets import PRESETS as PRESETS
from .presets import build_model as build_model
from .presets import get_config as get_config
from .towers import Tower as Tower
from .weights import load_pretrained as load_pretrained
from .weights import load_tower as load_tower

__all__ = [
    "PAPER_ROWS",
    "PRESETS",
    "CheckpointError",
    "ClipDataset",
    "ConfigError",
    "DataError",
    "EvalConfig",
    "EvalDataset",
    "EvaluationError",
    "FusionConfig",
    "FusionnetError",
    "SamplingConfig",
    "ScoresError",
    "ShapeError",
    "SplitError",
    "Tower",
    "TrainConfig",
    "TrainError",
    "TwoStreamNet",
    "UnknownPresetError",
    "WeightsError",
    "WeightsNotFoundError",
    "build_model",
    "check_available",
    "compute_metrics",
    "describe",
    "evaluate",
    "fuse_scores",
    "get_config",
    "load_checkpoint",
    "load_pretrained",
    "load_split",
    "load_tower",
    "make_loader",
    "model_from_checkpoint",
    "open_checkpoint",
    "open_frames",
    "read_scores",
    "train",
    "write_evaluation",
    "write_mmaction_lists",
]
