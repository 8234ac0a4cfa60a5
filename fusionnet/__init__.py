"""fusionnet: the two-stream towers and every fusion of Feichtenhofer, Pinz and Zisserman (CVPR 2016)."""

from .data import ClipDataset as ClipDataset
from .data import ClipPlan as ClipPlan
from .data import EpochSampler as EpochSampler
from .data import SamplingConfig as SamplingConfig
from .data import crop_box as crop_box
from .data import iter_batches as iter_batches
from .data import make_loader as make_loader
from .data import temporal_indices as temporal_indices
from .describe import LayerRow as LayerRow
from .describe import ModelSummary as ModelSummary
from .describe import describe as describe
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
from .evaluate import Checkpoint as Checkpoint
from .evaluate import EvalConfig as EvalConfig
from .evaluate import EvalDataset as EvalDataset
from .evaluate import Evaluation as Evaluation
from .evaluate import FusedScores as FusedScores
from .evaluate import Metrics as Metrics
from .evaluate import ScoreFile as ScoreFile
from .evaluate import clip_positions as clip_positions
from .evaluate import combine_heads as combine_heads
from .evaluate import compute_metrics as compute_metrics
from .evaluate import confusion_image as confusion_image
from .evaluate import evaluate as evaluate
from .evaluate import fuse_scores as fuse_scores
from .evaluate import mean_report as mean_report
from .evaluate import mirror as mirror
from .evaluate import open_checkpoint as open_checkpoint
from .evaluate import read_scores as read_scores
from .evaluate import split_checkpoints as split_checkpoints
from .evaluate import summary_markdown as summary_markdown
from .evaluate import write_evaluation as write_evaluation
from .frames import FrameStore as FrameStore
from .frames import RawframeStore as RawframeStore
from .frames import ShardStore as ShardStore
from .frames import open_frames as open_frames
from .fusion import FUSIONS as FUSIONS
from .fusion import BilinearFusion as BilinearFusion
from .fusion import Conv3dFusion as Conv3dFusion
from .fusion import ConvFusion as ConvFusion
from .fusion import Pool3d as Pool3d
from .fusion import SimpleFusion as SimpleFusion
from .fusion import TwoStreamNet as TwoStreamNet
from .fusion import bilinear_fusion as bilinear_fusion
from .fusion import cat_fusion as cat_fusion
from .fusion import gaussian_kernel3d as gaussian_kernel3d
from .fusion import max_fusion as max_fusion
from .fusion import pad_to as pad_to
from .fusion import sum_fusion as sum_fusion
from .lists import LISTS_SETTINGS_NAME as LISTS_SETTINGS_NAME
from .lists import ListFile as ListFile
from .lists import ListsSummary as ListsSummary
from .lists import find_splits as find_splits
from .lists import read_annotations as read_annotations
from .lists import write_mmaction_lists as write_mmaction_lists
from .presets import PAPER_ROWS as PAPER_ROWS
from .presets import PRESETS as PRESETS
from .presets import FusionConfig as FusionConfig
from .presets import build_model as build_model
from .presets import get_config as get_config
from .splits import DATASETS as DATASETS
from .splits import Split as Split
from .splits import check_available as check_available
from .splits import load_split as load_split
from .splits import unsafe_id as unsafe_id
from .towers import ARCHS as ARCHS
from .towers import FullyConnected as FullyConnected
from .towers import Tower as Tower
from .train import NAN_POLICIES as NAN_POLICIES
from .train import STAGES as STAGES
from .train import EpochMetrics as EpochMetrics
from .train import TrainConfig as TrainConfig
from .train import checkpoint_model as checkpoint_model
from .train import frozen_layers as frozen_layers
from .train import load_checkpoint as load_checkpoint
from .train import model_config as model_config
from .train import non_finite_tensor as non_finite_tensor
from .train import train as train
from .weights import cross_modality as cross_modality
from .weights import from_torchvision_vgg16 as from_torchvision_vgg16
from .weights import load_model as load_model
from .weights import load_pretrained as load_pretrained
from .weights import load_tower as load_tower
from .weights import read_matconvnet as read_matconvnet
from .weights import read_state_dict as read_state_dict
from .weights import save_model as save_model
from .weights import to_torchvision_vgg16 as to_torchvision_vgg16

__all__ = [
    "ARCHS",
    "DATASETS",
    "FUSIONS",
    "NAN_POLICIES",
    "LISTS_SETTINGS_NAME",
    "PAPER_ROWS",
    "PRESETS",
    "STAGES",
    "BilinearFusion",
    "Checkpoint",
    "CheckpointError",
    "ClipDataset",
    "ClipPlan",
    "ConfigError",
    "Conv3dFusion",
    "ConvFusion",
    "DataError",
    "EpochMetrics",
    "EpochSampler",
    "EvalConfig",
    "EvalDataset",
    "Evaluation",
    "EvaluationError",
    "FrameStore",
    "FullyConnected",
    "FusedScores",
    "FusionConfig",
    "FusionnetError",
    "LayerRow",
    "ListFile",
    "ListsSummary",
    "Metrics",
    "ModelSummary",
    "Pool3d",
    "RawframeStore",
    "SamplingConfig",
    "ScoreFile",
    "ScoresError",
    "ShapeError",
    "ShardStore",
    "SimpleFusion",
    "Split",
    "SplitError",
    "Tower",
    "TrainConfig",
    "TrainError",
    "TwoStreamNet",
    "UnknownPresetError",
    "WeightsError",
    "WeightsNotFoundError",
    "bilinear_fusion",
    "build_model",
    "cat_fusion",
    "check_available",
    "checkpoint_model",
    "clip_positions",
    "combine_heads",
    "compute_metrics",
    "confusion_image",
    "crop_box",
    "cross_modality",
    "describe",
    "evaluate",
    "find_splits",
    "from_torchvision_vgg16",
    "frozen_layers",
    "fuse_scores",
    "gaussian_kernel3d",
    "iter_batches",
    "get_config",
    "load_checkpoint",
    "load_model",
    "load_pretrained",
    "load_split",
    "load_tower",
    "make_loader",
    "max_fusion",
    "mean_report",
    "mirror",
    "model_config",
    "non_finite_tensor",
    "open_checkpoint",
    "open_frames",
    "pad_to",
    "read_annotations",
    "read_matconvnet",
    "read_scores",
    "read_state_dict",
    "save_model",
    "split_checkpoints",
    "sum_fusion",
    "summary_markdown",
    "temporal_indices",
    "to_torchvision_vgg16",
    "train",
    "unsafe_id",
    "write_evaluation",
    "write_mmaction_lists",
]
