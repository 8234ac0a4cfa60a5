"""Shared fixtures: the optional shared data, the CUDA kernels built for the CPU, and --run-slow."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import SHARED
from helpers.kernel_emulation import CudaOnNumpy, EmulatedKernels, compiler

from flowkit.backend import cuda_status


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data``; tests using it are skipped when it is absent (a fresh clone)."""
    if not SHARED.is_dir():
        pytest.skip(f"shared test data not found at {SHARED} (only present beside the team's checkout)")
    return SHARED


@pytest.fixture(scope="session")
def cpu_kernels(tmp_path_factory):
    """The kernels built for the CPU, each block's threads run first to last."""
    if compiler() is None:
        pytest.skip("no C++ compiler to build the kernels for the CPU")
    return EmulatedKernels(tmp_path_factory.mktemp("kernels"))


@pytest.fixture(params=["cpu", "cpu-reversed", pytest.param("cuda", marks=pytest.mark.gpu)])
def kernels(request, cpu_kernels):
    """The kernels built for the CPU (C++ emulation, threads in either order) or for the GPU
    (CuPy), on NumPy arrays."""
    if request.param == "cuda":
        if cuda_status() is not None:
            pytest.skip(f"needs CUDA: {cuda_status()}")
        return CudaOnNumpy()
    cpu_kernels.reverse = request.param == "cpu-reversed"
    return cpu_kernels


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow (make test does)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (make test does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
