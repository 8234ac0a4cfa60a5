"""Flow files and pictures: Middlebury ``.flo`` files (:mod:`.flo`), still images (:mod:`.images`),
the colour-wheel picture (:mod:`.viz`), flow as uint8 images and back (:mod:`.quantize`),
end-point error against ground truth and the layouts of public benchmarks (:mod:`.groundtruth`),
and atomic writes (:mod:`.atomic`). Used by the flow entry point and by extraction alike.

``quantize`` and ``dequantize`` are not re-exported here, where ``quantize`` would hide its
module: import them from :mod:`flowkit` or :mod:`flowkit.io.quantize`.
"""

from .atomic import atomic_write as atomic_write
from .flo import read_flo as read_flo
from .flo import write_flo as write_flo
from .groundtruth import GroundTruthPair as GroundTruthPair
from .groundtruth import endpoint_error as endpoint_error
from .groundtruth import find_ground_truth as find_ground_truth
from .images import encode_image as encode_image
from .images import read_image as read_image
from .images import write_image as write_image
from .viz import flow_to_color as flow_to_color

__all__ = [
    "GroundTruthPair",
    "atomic_write",
    "encode_image",
    "endpoint_error",
    "find_ground_truth",
    "flow_to_color",
    "read_flo",
    "read_image",
    "write_flo",
    "write_image",
]
