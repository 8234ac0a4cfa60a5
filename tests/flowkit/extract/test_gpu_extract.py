"""``tsf extract-flow`` on a CUDA device (one worker per GPU, batched pairs); skipped without one."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers.cli import tsf
from helpers.videos import make_source

from flowkit import cuda_status, dequantize

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(cuda_status() is not None, reason=f"needs CUDA: {cuda_status()}")]


def _flows(folder: Path, count: int) -> np.ndarray:
    return np.stack([np.stack([cv2.imread(str(folder / f"flow_{c}_{k:05d}.jpg"), cv2.IMREAD_UNCHANGED)
                               for c in "xy"], axis=2) for k in range(1, count)])


@pytest.mark.parametrize("method", ["tvl1", "brox"])
def test_cupy_extraction_matches_numpy(tmp_path: Path, method: str) -> None:
    # short videos of two sizes: pairs are batched across videos and flushed at the size change
    src = make_source(tmp_path / "src", {"a.avi": 5, "b.avi": 4, "c.avi": 6})
    make_source(tmp_path / "src", {"wide/d.avi": 5}, size=(48, 96))
    gpu, cpu = tmp_path / "gpu", tmp_path / "cpu"
    result = tsf("extract-flow", src, gpu, "--method", method, "--short-side", "64", "--backend", "cupy",
                 "--devices", "0", "--batch-pairs", "8", "--quiet")
    assert result.returncode == 0, result.stderr
    result = tsf("extract-flow", src, cpu, "--method", method, "--short-side", "64", "--backend", "numpy",
                 "--quiet")
    assert result.returncode == 0, result.stderr
    assert (gpu / "annotations.txt").read_text() == (cpu / "annotations.txt").read_text()
    for vid, count in (("a", 5), ("b", 4), ("c", 6), ("wide/d", 5)):
        meta = json.loads((gpu / vid / "meta.json").read_text())
        assert (meta["backend"], meta["method"]) == ("cupy", method)
        difference = np.abs(dequantize(_flows(gpu / vid, count)) - dequantize(_flows(cpu / vid, count)))
        assert difference.mean() < 0.05, vid
