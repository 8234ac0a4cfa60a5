"""The training set the engine's tests share (one per test module)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.training import make_training_set


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Three classes of drifting textures, extracted; a generic split list: ``(data, splits_dir)``."""
    return make_training_set(tmp_path_factory.mktemp("train"))
