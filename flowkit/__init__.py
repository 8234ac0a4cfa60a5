"""flowkit: optical flow for two-stream action recognition, on the CPU and the GPU."""

from importlib.metadata import PackageNotFoundError, version

from .atomic import atomic_write as atomic_write
from .backend import BACKENDS as BACKENDS
from .backend import cuda_status as cuda_status
from .backend import resolve_backend as resolve_backend
from .errors import FloFormatError as FloFormatError
from .errors import FlowError as FlowError
from .errors import FlowkitError as FlowkitError
from .errors import ImageReadError as ImageReadError
from .evaluation import GroundTruthPair as GroundTruthPair
from .evaluation import endpoint_error as endpoint_error
from .evaluation import find_ground_truth as find_ground_truth
from .flo import read_flo as read_flo
from .flo import write_flo as write_flo
from .flow import METHODS as METHODS
from .flow import compute_flow as compute_flow
from .flow import flow_params as flow_params
from .images import read_image as read_image
from .images import write_image as write_image
from .params import TVL1_PRESETS as TVL1_PRESETS
from .params import TVL1Params as TVL1Params
from .params import tvl1_params as tvl1_params
from .quantize import dequantize as dequantize
from .quantize import quantize as quantize
from .viz import flow_to_color as flow_to_color

try:
    __version__ = version("tsf")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "BACKENDS",
    "METHODS",
    "TVL1_PRESETS",
    "FloFormatError",
    "FlowError",
    "FlowkitError",
    "GroundTruthPair",
    "ImageReadError",
    "TVL1Params",
    "atomic_write",
    "compute_flow",
    "cuda_status",
    "dequantize",
    "endpoint_error",
    "find_ground_truth",
    "flow_params",
    "flow_to_color",
    "quantize",
    "read_flo",
    "read_image",
    "resolve_backend",
    "tvl1_params",
    "write_flo",
    "write_image",
]
