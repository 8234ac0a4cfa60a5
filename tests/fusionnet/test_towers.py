"""Towers and presets: shapes at 224 (meta device) and a small input, parameters, fully convolutional form."""

import json

import pytest
import torch

from fusionnet import (
    PAPER_ROWS,
    PRESETS,
    ConfigError,
    FusionConfig,
    ShapeError,
    Tower,
    UnknownPresetError,
    build_model,
    get_config,
)

SMALL = dict(width=1 / 16, input_size=64)


def clips(model, batch, size, device=None):
    cfg = model.config
    shape = (batch, cfg.num_frames, size, size)
    rgb = torch.randn(batch, 3, *shape[1:], device=device) if model.spatial is not None else None
    flow = None
    if model.temporal is not None:
        flow = torch.randn(batch, 2 * cfg.flow_frames, *shape[1:], device=device)
    return rgb, flow


def expected_heads(cfg):
    if cfg.fusion == "none":
        return {"spatial"} if cfg.spatial else {"temporal"}
    if cfg.fusion == "late":
        return {"spatial", "temporal"}
    return {"fused", "temporal"} if cfg.keep_temporal else {"fused"}


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_at_224(name):
    with torch.device("meta"):
        model = build_model(name, num_classes=101)
        out = model(*clips(model, 2, 224, "meta"))
    assert set(out) == expected_heads(model.config)
    assert all(v.shape == (2, 101) for v in out.values())


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_at_a_small_input(name):
    torch.manual_seed(0)
    model = build_model(name, num_classes=7, **SMALL).eval()
    out = model(*clips(model, 2, 64))
    assert set(out) == expected_heads(model.config)
    for v in out.values():
        assert v.shape == (2, 7) and torch.isfinite(v).all()
    probs = model.predict(*clips(model, 2, 64))
    assert probs.shape == (2, 7) and torch.allclose(probs.sum(1), torch.ones(2))


def test_feature_map_sizes_at_224():
    x = torch.empty(1, 3, 224, 224, device="meta")
    with torch.device("meta"):
        vggm, vgg16 = Tower("vggm"), Tower("vgg16")
    assert vggm.run(x, upto="relu5").shape == (1, 512, 13, 13)
    assert vggm.run(x, upto="pool5").shape == (1, 512, 6, 6)
    assert vggm.run(x, upto="pool1").shape == (1, 96, 54, 54)
    assert vgg16.run(x, upto="relu5").shape == (1, 512, 14, 14)
    assert vgg16.forward_features(x).shape == (1, 512, 7, 7)
    assert vggm.fc6.weight.shape == (4096, 512, 6, 6) and vgg16.fc6.weight.shape == (4096, 512, 7, 7)


@pytest.mark.parametrize(("name", "count"), [("vggm-spatial", 90_627_813), ("vggm-temporal", 90_707_781)])
def test_vggm_parameter_counts(name, count):
    with torch.device("meta"):
        model = build_model(name, num_classes=101)
    assert sum(p.numel() for p in model.parameters()) == count


def test_temporal_vggm_has_no_norm2_and_takes_2l_channels():
    with torch.device("meta"):
        model = build_model("vggm-late", flow_frames=5)
    assert "norm2" in model.spatial.names and "norm2" not in model.temporal.names
    assert model.temporal.conv1.weight.shape == (96, 10, 7, 7)


def test_lrn_is_matconvnets():
    # MatConvNet: y = x / (kappa + alpha * sum over 5 channels of x^2)^beta, kappa 2, alpha 1e-4, beta 0.75
    torch.manual_seed(0)
    x = torch.randn(1, 7, 2, 3, dtype=torch.float64) * 30
    y = Tower("vggm", width=1 / 16, input_size=64).norm1.double()(x)
    sq = torch.nn.functional.pad(x**2, (0, 0, 0, 0, 2, 2))
    window = sum(sq[:, i:i + 7] for i in range(5))
    assert torch.allclose(y, x / (2 + 1e-4 * window) ** 0.75, rtol=1e-12)


@pytest.mark.parametrize("arch", ["vggm", "vgg16"])
def test_fully_convolutional_equals_linear_at_224(arch):
    torch.manual_seed(0)
    tower = Tower(arch, num_classes=11, width=1 / 16).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        linear = tower(x)
        full = tower.set_fully_conv(True)(x)
        frame = tower(torch.randn(1, 3, 288, 352))
    assert linear.shape == (2, 11) and full.shape == (2, 11, 1, 1)
    assert torch.allclose(linear, full[:, :, 0, 0], rtol=1e-4, atol=1e-5)
    assert frame.shape[:2] == (1, 11) and frame.shape[2] > 1 and frame.shape[3] > frame.shape[2]


def test_linear_form_rejects_other_sizes():
    tower = Tower("vggm", width=1 / 16)
    with pytest.raises(ShapeError, match="fully convolutional"):
        tower(torch.zeros(1, 3, 256, 256))


def test_model_fully_conv_averages_the_score_map():
    torch.manual_seed(0)
    model = build_model("vggm-conv-relu5", **SMALL).eval().set_fully_conv(True)
    rgb, flow = clips(model, 1, 96)
    out = model(rgb, flow)["fused"]
    snippets = model.fusions["relu5"](model.spatial.run(rgb[:, :, 0], upto="relu5"),
                                      model.temporal.run(flow[:, :, 0], upto="relu5"))
    score_map = model.spatial.run(snippets, after="relu5")
    assert score_map.shape[2:] != (1, 1)
    assert torch.allclose(out, score_map.mean(dim=(2, 3)), atol=1e-6)


def test_too_small_input_names_the_minimum():
    with pytest.raises(ShapeError, match=">=57"):
        Tower("vggm", input_size=40)


def test_width_scales_every_layer_but_input_and_classes():
    tower = Tower("vggm", in_chans=20, num_classes=5, width=0.25)
    assert tower.conv1.weight.shape == (24, 20, 7, 7)
    assert tower.fc7.weight.shape == (512, 1024, 1, 1)
    assert tower.fc8.weight.shape == (5, 512, 1, 1)


def test_two_d_models_average_any_number_of_snippets():
    torch.manual_seed(0)
    model = build_model("vggm-spatial", **SMALL).eval()
    rgb = torch.randn(1, 3, 3, 64, 64)
    with torch.no_grad():
        whole = model(rgb)["spatial"]
        each = torch.stack([model(rgb[:, :, i:i + 1])["spatial"] for i in range(3)]).mean(0)
    assert torch.allclose(whole, each, atol=1e-6)


def test_clip_shapes_are_checked():
    model = build_model("fusion3d", **SMALL)
    with pytest.raises(ShapeError, match=r"\(B, 3, 5, H, W\)"):
        model(torch.zeros(1, 3, 4, 64, 64), torch.zeros(1, 20, 4, 64, 64))
    with pytest.raises(ShapeError, match="flow clip"):
        model(torch.zeros(1, 3, 5, 64, 64), None)
    with pytest.raises(ShapeError, match="rgb clip"):
        model(torch.zeros(1, 3, 5, 64, 64), torch.zeros(2, 20, 5, 64, 64))


@pytest.mark.parametrize("name", PRESETS)
def test_configs_round_trip_through_json(name):
    cfg = PRESETS[name]
    assert FusionConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_every_preset_names_its_paper_row():
    assert set(PAPER_ROWS) == set(PRESETS)
    assert all(row.startswith(("Table", "Fig")) for row in PAPER_ROWS.values())


def test_unknown_preset_lists_close_matches():
    with pytest.raises(UnknownPresetError, match="did you mean vggm-conv-relu5") as info:
        build_model("vggm-conv-relu6")
    assert isinstance(info.value, KeyError) and "vggm-conv-relu5" in info.value.close
    assert str(info.value).startswith("unknown preset 'vggm-conv-relu6'")


def test_overrides_and_invalid_settings():
    assert get_config("fusion3d", width=0.5).width == 0.5
    with pytest.raises(ConfigError, match="unknown FusionConfig fields: colour"):
        get_config("fusion3d", colour=1)
    with pytest.raises(ConfigError, match="both towers"):
        FusionConfig(temporal=None)
    with pytest.raises(ConfigError, match="pooling"):
        get_config("fusion3d", pooling="4d")
    with pytest.raises(ValueError, match="network order"):
        build_model("vggm-conv-relu5", layers=("relu5", "relu3"))
    with pytest.raises(ConfigError, match="no layer 'relu9'"):
        build_model("vggm-conv-relu5", layers=("relu9",))
