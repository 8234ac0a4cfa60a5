"""fusionnet: the two-stream towers and every fusion of Feichtenhofer, Pinz and Zisserman (CVPR 2016)."""

from .describe import LayerRow as LayerRow
from .describe import ModelSummary as ModelSummary
from .describe import describe as describe
from .errors import ConfigError as ConfigError
from .errors import FusionnetError as FusionnetError
from .errors import ShapeError as ShapeError
from .errors import UnknownPresetError as UnknownPresetError
from .errors import WeightsError as WeightsError
from .errors import WeightsNotFoundError as WeightsNotFoundError
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
from .presets import PAPER_ROWS as PAPER_ROWS
from .presets import PRESETS as PRESETS
from .presets import FusionConfig as FusionConfig
from .presets import build_model as build_model
from .presets import get_config as get_config
from .towers import ARCHS as ARCHS
from .towers import FullyConnected as FullyConnected
from .towers import Tower as Tower
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
    "FUSIONS",
    "PAPER_ROWS",
    "PRESETS",
    "BilinearFusion",
    "ConfigError",
    "Conv3dFusion",
    "ConvFusion",
    "FullyConnected",
    "FusionConfig",
    "FusionnetError",
    "LayerRow",
    "ModelSummary",
    "Pool3d",
    "ShapeError",
    "SimpleFusion",
    "Tower",
    "TwoStreamNet",
    "UnknownPresetError",
    "WeightsError",
    "WeightsNotFoundError",
    "bilinear_fusion",
    "build_model",
    "cat_fusion",
    "cross_modality",
    "describe",
    "from_torchvision_vgg16",
    "gaussian_kernel3d",
    "get_config",
    "load_model",
    "load_pretrained",
    "load_tower",
    "max_fusion",
    "pad_to",
    "read_matconvnet",
    "read_state_dict",
    "save_model",
    "sum_fusion",
    "to_torchvision_vgg16",
]
