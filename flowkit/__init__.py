"""flowkit: optical flow for two-stream action recognition, on the CPU and the GPU.

The names here are what a user constructs or calls. The subpackages hold the rest:
:mod:`flowkit.solvers` (TV-L1 and Brox, and their fused CUDA kernels), :mod:`flowkit.io` (flow
files, pictures, quantisation, ground truth), :mod:`flowkit.extract` (dataset extraction and the
on-disk contract of its output) and :mod:`flowkit.datasets` (synthetic data).
"""

from ._version import __version__ as __version__
from .backend import BACKENDS as BACKENDS
from .backend import cuda_status as cuda_status
from .datasets.what_moves import SYNTH_CLASSES as SYNTH_CLASSES
from .datasets.what_moves import SYNTH_COLOURS as SYNTH_COLOURS
from .datasets.what_moves import SYNTH_FAMILIES as SYNTH_FAMILIES
from .datasets.what_moves import SynthConfig as SynthConfig
from .datasets.what_moves import SynthVideo as SynthVideo
from .datasets.what_moves import synth_video as synth_video
from .datasets.what_moves import write_synth_dataset as write_synth_dataset
from .errors import ExtractionError as ExtractionError
from .errors import FloFormatError as FloFormatError
from .errors import FlowError as FlowError
from .errors import FlowkitError as FlowkitError
from .errors import ImageEncodeError as ImageEncodeError
from .errors import ImageReadError as ImageReadError
from .errors import OutputBusyError as OutputBusyError
from .errors import OutputConflictError as OutputConflictError
from .errors import OutputError as OutputError
from .errors import ResizeError as ResizeError
from .errors import ShardError as ShardError
from .errors import SynthError as SynthError
from .errors import VideoError as VideoError
from .errors import VideoListError as VideoListError
from .extract.config import ExtractConfig as ExtractConfig
from .extract.config import ExtractSummary as ExtractSummary
from .extract.config import RunOptions as RunOptions
from .extract.config import VideoResult as VideoResult
from .extract.run import extract as extract
from .extract.shards import ShardVideo as ShardVideo
from .extract.shards import read_shard_video as read_shard_video
from .extract.shards import shard_index as shard_index
from .extract.video import Resize as Resize
from .extract.video import VideoEntry as VideoEntry
from .extract.video import VideoReader as VideoReader
from .extract.video import find_videos as find_videos
from .extract.video import read_video_list as read_video_list
from .flow import METHODS as METHODS
from .flow import compute_flow as compute_flow
from .flow import flow_backend as flow_backend
from .flow import flow_params as flow_params
from .io.atomic import atomic_write as atomic_write
from .io.flo import read_flo as read_flo
from .io.flo import write_flo as write_flo
from .io.groundtruth import GroundTruthPair as GroundTruthPair
from .io.groundtruth import endpoint_error as endpoint_error
from .io.groundtruth import find_ground_truth as find_ground_truth
from .io.images import read_image as read_image
from .io.images import write_image as write_image
from .io.quantize import dequantize as dequantize
from .io.quantize import quantize as quantize
from .io.viz import flow_to_color as flow_to_color
from .params import BROX_PRESETS as BROX_PRESETS
from .params import DEFAULT_PRESETS as DEFAULT_PRESETS
from .params import TVL1_PRESETS as TVL1_PRESETS
from .params import BroxParams as BroxParams
from .params import TVL1Params as TVL1Params
from .params import brox_params as brox_params
from .params import tvl1_params as tvl1_params

__all__ = [
    "BACKENDS",
    "BROX_PRESETS",
    "DEFAULT_PRESETS",
    "METHODS",
    "SYNTH_CLASSES",
    "SYNTH_COLOURS",
    "SYNTH_FAMILIES",
    "TVL1_PRESETS",
    "BroxParams",
    "ExtractConfig",
    "ExtractSummary",
    "ExtractionError",
    "FloFormatError",
    "FlowError",
    "FlowkitError",
    "GroundTruthPair",
    "ImageEncodeError",
    "ImageReadError",
    "OutputBusyError",
    "OutputConflictError",
    "OutputError",
    "Resize",
    "ResizeError",
    "RunOptions",
    "ShardError",
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
    "endpoint_error",
    "extract",
    "find_ground_truth",
    "find_videos",
    "flow_backend",
    "flow_params",
    "flow_to_color",
    "quantize",
    "read_flo",
    "read_image",
    "read_shard_video",
    "read_video_list",
    "shard_index",
    "synth_video",
    "tvl1_params",
    "write_flo",
    "write_image",
    "write_synth_dataset",
    "__version__",
]
