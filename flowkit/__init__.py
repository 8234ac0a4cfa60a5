"""flowkit: optical flow for two-stream action recognition, on the CPU and the GPU."""

from ._version import __version__ as __version__
from .atomic import atomic_write as atomic_write
from .backend import BACKENDS as BACKENDS
from .backend import cuda_status as cuda_status
from .backend import resolve_backend as resolve_backend
from .errors import ExtractionError as ExtractionError
from .errors import FloFormatError as FloFormatError
from .errors import FlowError as FlowError
from .errors import FlowkitError as FlowkitError
from .errors import ImageReadError as ImageReadError
from .errors import OutputBusyError as OutputBusyError
from .errors import OutputConflictError as OutputConflictError
from .errors import OutputError as OutputError
from .errors import VideoError as VideoError
from .errors import VideoListError as VideoListError
from .evaluation import GroundTruthPair as GroundTruthPair
from .evaluation import endpoint_error as endpoint_error
from .evaluation import find_ground_truth as find_ground_truth
from .extract import ExtractConfig as ExtractConfig
from .extract import ExtractSummary as ExtractSummary
from .extract import RunOptions as RunOptions
from .extract import VideoResult as VideoResult
from .extract import extract as extract
from .extract import select_shard as select_shard
from .flo import read_flo as read_flo
from .flo import write_flo as write_flo
from .flow import METHODS as METHODS
from .flow import compute_flow as compute_flow
from .flow import flow_backend as flow_backend
from .flow import flow_params as flow_params
from .images import encode_image as encode_image
from .images import read_image as read_image
from .images import write_image as write_image
from .params import BROX_PRESETS as BROX_PRESETS
from .params import DEFAULT_PRESETS as DEFAULT_PRESETS
from .params import TVL1_PRESETS as TVL1_PRESETS
from .params import BroxParams as BroxParams
from .params import TVL1Params as TVL1Params
from .params import brox_params as brox_params
from .params import tvl1_params as tvl1_params
from .quantize import dequantize as dequantize
from .quantize import quantize as quantize
from .rawframes import frame_name as frame_name
from .rawframes import read_meta as read_meta
from .shards import ShardVideo as ShardVideo
from .shards import read_shard_video as read_shard_video
from .shards import shard_index as shard_index
from .shards import write_shard as write_shard
from .synth import SYNTH_CLASSES as SYNTH_CLASSES
from .synth import SYNTH_COLOURS as SYNTH_COLOURS
from .synth import SYNTH_FAMILIES as SYNTH_FAMILIES
from .synth import SynthConfig as SynthConfig
from .synth import SynthError as SynthError
from .synth import SynthVideo as SynthVideo
from .synth import synth_video as synth_video
from .synth import write_synth_dataset as write_synth_dataset
from .video import VIDEO_EXTENSIONS as VIDEO_EXTENSIONS
from .video import Resize as Resize
from .video import VideoEntry as VideoEntry
from .video import VideoReader as VideoReader
from .video import find_videos as find_videos
from .video import read_video_list as read_video_list
from .viz import flow_to_color as flow_to_color

__all__ = [
    "BACKENDS",
    "BROX_PRESETS",
    "DEFAULT_PRESETS",
    "METHODS",
    "SYNTH_CLASSES",
    "SYNTH_COLOURS",
    "SYNTH_FAMILIES",
    "TVL1_PRESETS",
    "VIDEO_EXTENSIONS",
    "BroxParams",
    "ExtractConfig",
    "ExtractSummary",
    "ExtractionError",
    "FloFormatError",
    "FlowError",
    "FlowkitError",
    "GroundTruthPair",
    "ImageReadError",
    "OutputBusyError",
    "OutputConflictError",
    "OutputError",
    "Resize",
    "RunOptions",
    "ShardVideo",
    "SynthConfig",
    "SynthError",
    "SynthVideo",
    "TVL1Params",
    "VideoEntry",
    "VideoError",
    "VideoListError",
    "VideoReader",
    "VideoResult",
    "atomic_write",
    "brox_params",
    "compute_flow",
    "cuda_status",
    "dequantize",
    "encode_image",
    "endpoint_error",
    "extract",
    "find_ground_truth",
    "find_videos",
    "flow_backend",
    "flow_params",
    "flow_to_color",
    "frame_name",
    "quantize",
    "read_flo",
    "read_image",
    "read_meta",
    "read_shard_video",
    "read_video_list",
    "resolve_backend",
    "select_shard",
    "shard_index",
    "synth_video",
    "tvl1_params",
    "write_flo",
    "write_image",
    "write_shard",
    "write_synth_dataset",
]
