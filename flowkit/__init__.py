"""flowkit: optical flow for two-stream action recognition, on the CPU and the GPU."""

from importlib.metadata import PackageNotFoundError, version

from .backend import BACKENDS as BACKENDS
from .backend import cuda_status as cuda_status
from .errors import FloFormatError as FloFormatError
from .errors import FlowError as FlowError
from .errors import FlowkitError as FlowkitError
from .errors import ImageReadError as ImageReadError
from .flo import read_flo as read_flo
from .flo import write_flo as write_flo
from .flow import METHODS as METHODS
from .flow import compute_flow as compute_flow
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
    "ImageReadError",
    "TVL1Params",
    "compute_flow",
    "cuda_status",
    "dequantize",
    "flow_to_color",
    "quantize",
    "read_flo",
    "tvl1_params",
    "write_flo",
]
