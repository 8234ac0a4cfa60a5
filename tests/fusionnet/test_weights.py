"""Weights: torchvision VGG-16 state dicts, MatConvNet simplenn .mat files, strict errors, checkpoints."""

import logging

import numpy as np
import pytest
import scipy.io
import torch
from torch import nn

from fusionnet import (
    Tower,
    WeightsError,
    WeightsNotFoundError,
    build_model,
    load_pretrained,
    load_tower,
)
from fusionnet.engine import model_from_checkpoint, save_weights
from fusionnet.weights import cross_modality, read_matconvnet, to_torchvision_vgg16

W = 1 / 16  # VGG-16 at 1/16 width: 4, 8, 16, 32, 32 channels, fc 256


def torchvision_vgg16(num_classes=10):
    """torchvision's vgg16 layout (features / avgpool / classifier) at 1/16 width, built by hand."""
    layers, channels = [], 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, v // 16, 3, padding=1), nn.ReLU(True)]
            channels = v // 16
    net = nn.Sequential()
    net.features = nn.Sequential(*layers)
    net.avgpool = nn.AdaptiveAvgPool2d((7, 7))
    net.flatten = nn.Flatten()
    net.classifier = nn.Sequential(nn.Linear(32 * 49, 256), nn.ReLU(True), nn.Dropout(), nn.Linear(256, 256),
                                   nn.ReLU(True), nn.Dropout(), nn.Linear(256, num_classes))
    for p in net.parameters():
        nn.init.normal_(p, 0, 0.1)
    return net.eval()


@pytest.fixture(scope="module")
def reference():
    torch.manual_seed(0)
    return torchvision_vgg16()


def test_torchvision_state_dict_round_trip(reference, tmp_path):
    path = tmp_path / "vgg16.pth"
    torch.save({"module." + k: v for k, v in reference.state_dict().items()}, path)
    tower = Tower("vgg16", num_classes=10, width=W).eval()
    load_tower(tower, path)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(tower(x), reference(x), rtol=1e-4, atol=1e-5)
    back = to_torchvision_vgg16(tower.state_dict())
    original = reference.state_dict()
    assert back.keys() == original.keys()
    assert all(torch.equal(back[k], original[k]) for k in original)


def test_head_with_other_classes_keeps_its_initialisation(reference, caplog):
    tower = Tower("vgg16", num_classes=101, width=W)
    head = tower.fc8.weight.detach().clone()
    with caplog.at_level(logging.INFO, logger="fusionnet.weights"):
        load_tower(tower, reference.state_dict())
    assert torch.equal(tower.fc8.weight, head) and "fc8 has 10 classes, the model 101" in caplog.text
    assert torch.equal(tower.fc7.weight[:, :, 0, 0], reference.state_dict()["classifier.3.weight"])


def test_missing_extra_and_mismatched_layers_are_named(reference):
    state = reference.state_dict()
    missing = {k: v for k, v in state.items() if not k.startswith("features.28.")}
    with pytest.raises(WeightsError, match="layer 'conv5_3'.*missing"):
        load_tower(Tower("vgg16", num_classes=10, width=W), missing)
    half = {k: v for k, v in state.items() if k != "features.28.bias"}
    with pytest.raises(WeightsError, match="conv5_3"):
        load_tower(Tower("vgg16", num_classes=10, width=W), half)
    extra = dict(state, **{"features.30.weight": torch.zeros(1)})
    with pytest.raises(WeightsError, match="features.30.weight"):
        load_tower(Tower("vgg16", num_classes=10, width=W), extra)
    wrong = r"layer 'conv1_1' has weight \(4, 3, 3, 3\).*needs \(8, 3, 3, 3\)"
    with pytest.raises(WeightsError, match=wrong):
        load_tower(Tower("vgg16", num_classes=10, width=W * 2), state)


def test_temporal_conv1_is_cross_modality_initialised(reference):
    tower = Tower("vgg16", in_chans=20, num_classes=10, width=W)
    load_tower(tower, reference.state_dict())
    rgb = reference.state_dict()["features.0.weight"]
    assert tower.conv1_1.weight.shape == (4, 20, 3, 3)
    for c in range(20):
        assert torch.allclose(tower.conv1_1.weight[:, c], rgb.mean(dim=1))
    assert torch.equal(cross_modality(torch.ones(2, 3, 1, 1), 4), torch.ones(2, 4, 1, 1))


def test_skip_leaves_named_layers(reference):
    tower = Tower("vgg16", num_classes=10, width=W)
    before = tower.fc6.weight.detach().clone()
    load_tower(tower, {k: v for k, v in reference.state_dict().items() if not k.startswith("classifier.0")},
               skip=["fc6"])
    assert torch.equal(before, tower.fc6.weight)


def test_unsafe_and_missing_files(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="never|download") as info:
        load_tower(Tower("vgg16", width=W), tmp_path / "absent.pth")
    assert isinstance(info.value, FileNotFoundError)
    evil = tmp_path / "evil.pth"
    torch.save({"weights": logging.getLogger("x")}, evil)
    with pytest.raises(WeightsError, match="safely loadable"):
        load_tower(Tower("vgg16", width=W), evil)


def test_load_pretrained_truncated_tower_and_missing_source(reference):
    model = build_model("fusion3d-single", num_classes=10, width=W)
    load_pretrained(model, spatial=reference.state_dict(), temporal=reference.state_dict())
    assert torch.equal(model.spatial.conv5_3.weight, reference.state_dict()["features.28.weight"])
    assert not hasattr(model.temporal, "fc6")
    with pytest.raises(WeightsError, match="temporal vgg16 tower"):
        load_pretrained(model, spatial=reference.state_dict())


def test_model_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build_model("vgg16m-conv3d-relu5-plus-pool3d", num_classes=4, width=W, input_size=64).eval()
    save_weights(model, tmp_path / "m.pt")
    again = model_from_checkpoint(tmp_path / "m.pt").eval()
    assert again.config == model.config
    rgb, flow = torch.randn(1, 3, 5, 64, 64), torch.randn(1, 20, 5, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(rgb, flow)["fused"], again(rgb, flow)["fused"])


# ---- MatConvNet simplenn .mat files -------------------------------------------------------


def cell(items):
    out = np.empty((1, len(items)), dtype=object)
    for i, item in enumerate(items):
        out[0, i] = item
    return out


def write_simplenn(path, params, old_format=False, wrap_in_net=False):
    """A simplenn network as MatConvNet saves it: a cell array of layer structs, filters H x W x in x out."""
    layers = []
    for name, (filters, biases) in params.items():
        conv = {"type": "conv", "name": name, "stride": np.array([[1.0, 1.0]]), "pad": np.zeros((1, 4))}
        if old_format:
            conv.update(filters=filters, biases=biases[None, :])
        else:
            conv["weights"] = cell([filters, biases[:, None]])
        layers += [conv, {"type": "relu", "name": name.replace("conv", "relu").replace("fc", "relu"),
                          "weights": cell([])}]
    content = {"layers": cell(layers), "meta": {"classes": {"description": cell(["a", "b"])}}}
    scipy.io.savemat(path, {"net": content} if wrap_in_net else content)


def vggm_params(rng, tower):
    """Random MatConvNet-layout parameters for every conv and fc layer of ``tower``."""
    params = {}
    for name, layer in tower.named_children():
        if hasattr(layer, "weight") and layer.weight is not None and layer.weight.ndim == 4:
            out, inp, h, w = layer.weight.shape
            params[name] = (rng.standard_normal((h, w, inp, out)).astype(np.float32) * 0.1,
                            rng.standard_normal(out).astype(np.float32))
    return params


@pytest.mark.parametrize(("old_format", "wrap_in_net"), [(False, False), (True, True)])
def test_matconvnet_mapping_against_a_direct_computation(tmp_path, old_format, wrap_in_net):
    rng = np.random.default_rng(0)
    tower = Tower("vggm", num_classes=10, width=W).eval()  # 224: fc6 is 6 x 6 x 32 x 256
    params = vggm_params(rng, tower)
    assert params["fc6"][0].shape == (6, 6, 32, 256) and params["fc8"][0].shape == (1, 1, 128, 10)
    path = tmp_path / "imagenet-vgg-m-2048.mat"
    write_simplenn(path, params, old_format, wrap_in_net)
    load_tower(tower, path)

    x = rng.standard_normal((3, 224, 224)).astype(np.float32)  # C x H x W, not square in content
    f, b = params["conv1"]  # MatConvNet: y(i, j, o) = b(o) + sum f(u, v, c, o) x(2i + u, 2j + v, c)
    for i, j, o in [(0, 0, 0), (5, 40, 3), (108, 7, 5)]:
        patch = x[:, 2 * i:2 * i + 7, 2 * j:2 * j + 7]
        direct = b[o] + np.einsum("uvc,cuv->", f[:, :, :, o], patch)
        ours = tower.conv1(torch.from_numpy(x)[None])[0, o, i, j].item()
        assert ours == pytest.approx(direct, rel=1e-4, abs=1e-4)

    with torch.no_grad():
        pool5 = tower.forward_features(torch.from_numpy(x)[None])[0].numpy()  # C x 6 x 6
        fc6 = tower.fc6(torch.from_numpy(pool5)[None])[0, :, 0, 0].numpy()
    f6, b6 = params["fc6"]
    assert np.allclose(fc6, b6 + np.einsum("uvco,cuv->o", f6, pool5), rtol=1e-4, atol=1e-4)


def test_matconvnet_reader_restores_dropped_singletons(tmp_path):
    path = tmp_path / "n.mat"
    write_simplenn(path, {"fc8": (np.ones((1, 1, 4, 1), np.float32), np.zeros(1, np.float32))})
    assert read_matconvnet(path)["fc8.weight"].shape == (1, 4, 1, 1)


def test_matconvnet_missing_and_extra_layers(tmp_path):
    rng = np.random.default_rng(1)
    tower = Tower("vggm", num_classes=10, width=W)
    params = vggm_params(rng, tower)
    write_simplenn(tmp_path / "a.mat", {k: v for k, v in params.items() if k != "conv4"})
    with pytest.raises(WeightsError, match="a.mat: layer 'conv4' missing"):
        load_tower(tower, tmp_path / "a.mat")
    write_simplenn(tmp_path / "b.mat", dict(params, conv6=params["conv5"]))
    with pytest.raises(WeightsError, match="layer 'conv6' is not in the vggm tower"):
        load_tower(tower, tmp_path / "b.mat")
    (tmp_path / "c.mat").write_bytes(b"MATLAB? no")
    with pytest.raises(WeightsError, match="c.mat"):
        read_matconvnet(tmp_path / "c.mat")
