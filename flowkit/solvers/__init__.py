"""The flow solvers: TV-L1 (:mod:`.tvl1`) and Brox et al. (:mod:`.brox`) as array code for NumPy
and CuPy, on the image operations of :mod:`.imgops`, and their fused CUDA kernels
(:mod:`.fused`). Call them through :func:`flowkit.compute_flow`, which picks the backend and
checks the input; these modules are for who studies or tests a solver. The subpackage offers its
modules (``flowkit.solvers.tvl1.tvl1``, ``flowkit.solvers.brox.brox``, ...): a function of the
module's name re-exported here would hide the module.
"""

from . import brox as brox
from . import fused as fused
from . import imgops as imgops
from . import tvl1 as tvl1

__all__ = ["brox", "fused", "imgops", "tvl1"]
