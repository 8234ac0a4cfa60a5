"""The public surface of flowkit and fusionnet, pinned: a name added to or dropped from a package's
``__all__`` is a decision, made here on purpose (kornia's tests/test_api_surface.py does the same)."""

from __future__ import annotations

import importlib

import pytest

FLOWKIT = [
    "BACKENDS", "BROX_PRESETS", "BroxParams", "DEFAULT_PRESETS", "ExtractConfig", "ExtractSummary", "ExtractionError",
    "FloFormatError", "FlowError", "FlowkitError", "GroundTruthPair", "ImageEncodeError", "ImageReadError", "METHODS",
    "OutputBusyError", "OutputConflictError", "OutputError", "Resize", "ResizeError", "RunOptions", "SYNTH_CLASSES",
    "SYNTH_COLOURS", "SYNTH_FAMILIES", "ShardError", "ShardVideo", "SynthConfig", "SynthError", "SynthVideo",
    "TVL1Params", "TVL1_PRESETS", "VideoEntry", "VideoError", "VideoListError", "VideoReader", "VideoResult",
    "__version__", "atomic_write", "brox_params", "compute_flow", "cuda_status", "dequantize", "endpoint_error",
    "extract", "find_ground_truth", "find_videos", "flow_backend", "flow_params", "flow_to_color", "quantize",
    "read_flo", "read_image", "read_shard_video", "read_video_list", "shard_index", "synth_video", "tvl1_params",
    "write_flo", "write_image", "write_synth_dataset",
]
FUSIONNET = [
    "CheckpointError", "ClipDataset", "ConfigError", "DataError", "EvalConfig", "EvalDataset", "EvaluationError",
    "FusionConfig", "FusionnetError", "PAPER_ROWS", "PRESETS", "SamplingConfig", "ScoresError", "ShapeError",
    "SplitError", "Tower", "TrainConfig", "TrainError", "TwoStreamNet", "UnknownPresetError", "WeightsError",
    "WeightsNotFoundError", "build_model", "check_available", "compute_metrics", "describe", "evaluate",
    "fuse_scores", "get_config", "load_checkpoint", "load_pretrained", "load_split", "load_tower", "make_loader",
    "model_from_checkpoint", "open_checkpoint", "open_frames", "read_scores", "train", "write_evaluation",
    "write_mmaction_lists",
]
SUBPACKAGES = ["flowkit.solvers", "flowkit.solvers.fused", "flowkit.io", "flowkit.extract", "flowkit.datasets",
               "fusionnet.data", "fusionnet.engine"]


@pytest.mark.parametrize(("package", "names"), [("flowkit", FLOWKIT), ("fusionnet", FUSIONNET)])
def test_the_public_names_are_the_curated_ones(package: str, names: list[str]) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(names)
    assert [n for n in names if not hasattr(module, n)] == []


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_each_subpackage_names_what_it_offers(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__doc__ and module.__all__
    assert [n for n in module.__all__ if not hasattr(module, n)] == []


def test_every_flowkit_error_derives_from_one_base_and_a_builtin() -> None:
    import flowkit
    import fusionnet

    for package, base in ((flowkit, flowkit.FlowkitError), (fusionnet, fusionnet.FusionnetError)):
        errors = [getattr(package, n) for n in package.__all__ if n.endswith("Error")]
        assert all(issubclass(e, base) for e in errors), package.__name__
        assert all(any(b.__module__ == "builtins" and b is not Exception for b in e.__mro__[1:])
                   for e in errors if e is not base), package.__name__
