"""``tsf train`` on a CUDA device with mixed precision; skipped without one."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from helpers.training import train_config

from fusionnet import load_checkpoint, train

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device for PyTorch")]


@pytest.mark.parametrize("amp", ["bf16", "fp16", "off"])
def test_mixed_precision_training(dataset: tuple[Path, Path], tmp_path: Path, amp: str) -> None:
    config = train_config(dataset, tmp_path / "run", stage="fusion", preset="vggm-conv-relu5", epochs=2, amp=amp,
                     device="cuda", workers=2)
    history = train(config, progress=False)
    assert all(math.isfinite(m.loss) for m in history)
    state = load_checkpoint(tmp_path / "run/last.pt")
    assert state["scaler"] is not None and state["epoch"] == 2
