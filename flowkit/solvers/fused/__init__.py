"""The fused CUDA solvers: TV-L1 (:mod:`.tvl1`) and Brox et al. (:mod:`.brox`) with their inner
loops in the kernels of ``cuda/tvl1.cu`` and ``cuda/brox.cu``, built by :mod:`.kernels` (with the
median networks of :mod:`.sortnet` filled in). Importing needs no CuPy; running needs a device,
or the emulating launchers of the tests.
"""

from .brox import FusedBrox as FusedBrox
from .brox import brox_fused as brox_fused
from .kernels import kernel_source as kernel_source
from .tvl1 import FusedTVL1 as FusedTVL1
from .tvl1 import fused_supported as fused_supported
from .tvl1 import tvl1_fused as tvl1_fused

__all__ = ["FusedBrox", "FusedTVL1", "brox_fused", "fused_supported", "kernel_source", "tvl1_fused"]
