"""``make demo`` reduced: the paper's two effects, end to end, on a small synthetic set."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest

from flowkit import SYNTH_CLASSES

ROOT = Path(__file__).resolve().parents[2]


def _demo_module():
    spec = importlib.util.spec_from_file_location("run_demo", ROOT / "demo" / "run_demo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_family_accuracy(tmp_path: Path) -> None:
    demo = _demo_module()
    rows = ['{"id": "a", "label": 0, "scores": [3, 1, 0, 0, 0, 0, 0, 0, 0, 0]}',
            '{"id": "b", "label": 1, "scores": [3, 1, 0, 0, 0, 0, 0, 0, 0, 0]}',
            '{"id": "c", "label": 9, "scores": [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]}']
    (tmp_path / "p.jsonl").write_text("\n".join(rows) + "\n")
    assert demo.family_accuracy(tmp_path / "p.jsonl", SYNTH_CLASSES) == {"who-moves": 0.5, "motion": 1.0}


@pytest.mark.slow
def test_reduced_demo_shows_each_effect(tmp_path: Path) -> None:
    demo = _demo_module()
    full = demo.DemoConfig()
    # the demo's data and single-frame models (about 3 minutes); fewer epochs for the T = 5 models
    epochs = {"conv-relu5-pool2d": 25, "conv3d-relu5-pool3d": 25}
    config = dataclasses.replace(full, out=str(tmp_path / "demo"), models=tuple(
        dataclasses.replace(m, epochs=epochs.get(m.name, m.epochs)) for m in full.models))
    table = demo.run_demo(config)
    # conv fusion at relu5 binds colour to motion; late fusion cannot (chance: 50% once the direction is known)
    assert table["conv-relu5"]["who-moves"] >= table["late"]["who-moves"] + 0.15, table
    # 3D conv fusion over T = 5 snippets sees the order of the motions; per-snippet scores averaged cannot
    assert table["conv3d-relu5-pool3d"]["order"] >= table["conv-relu5-pool2d"]["order"] + 0.1, table
    # the controls: one frame has no motion, one flow has no colour (chance is 50% on each)
    assert table["spatial"]["motion"] <= 0.75 and table["temporal"]["colour"] <= 0.75, table
