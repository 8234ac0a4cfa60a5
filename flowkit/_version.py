"""The installed tsf version, recorded in every output's provenance."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("tsf")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
