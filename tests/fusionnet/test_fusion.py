"""Fusion functions against hand-computed tensors, initialisations, padding, 3D pooling, a training step."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fusionnet import ConfigError, ShapeError, build_model
from fusionnet.fusion import (
    BilinearFusion,
    Conv3dFusion,
    ConvFusion,
    Pool3d,
    bilinear_fusion,
    cat_fusion,
    gaussian_kernel3d,
    max_fusion,
    pad_to,
    sum_fusion,
)

A = torch.tensor([[[[1.0, -2.0]], [[3.0, 0.5]]]])  # (1, 2, 1, 2): channel 0 is [1, -2], channel 1 [3, 0.5]
B = torch.tensor([[[[4.0, -1.0]], [[-5.0, 2.0]]]])


def test_sum_max_concat_by_hand():
    assert sum_fusion(A, B).tolist() == [[[[5.0, -3.0]], [[-2.0, 2.5]]]]
    assert max_fusion(A, B).tolist() == [[[[4.0, -1.0]], [[3.0, 2.0]]]]
    assert cat_fusion(A, B).tolist() == [[[[1.0, -2.0]], [[3.0, 0.5]], [[4.0, -1.0]], [[-5.0, 2.0]]]]


def test_bilinear_by_hand():
    # y_ij = sum over the 2 pixels of a_i b_j
    y = [[1 * 4 + -2 * -1, 1 * -5 + -2 * 2], [3 * 4 + 0.5 * -1, 3 * -5 + 0.5 * 2]]  # [[6, -9], [11.5, -14]]
    signed = [math.copysign(math.sqrt(abs(v)), v) for row in y for v in row]
    norm = math.sqrt(sum(v * v for v in signed))
    assert torch.allclose(bilinear_fusion(A, B), torch.tensor([[v / norm for v in signed]]))


def test_bilinear_module_is_a_linear_classifier_on_the_feature():
    fusion = BilinearFusion(2, 2, num_classes=3)
    out = fusion(A, B)
    assert out.shape == (1, 3, 1, 1)
    assert torch.allclose(out[:, :, 0, 0], fusion.fc(bilinear_fusion(A, B)))


def test_conv_fusion_by_hand():
    fusion = ConvFusion(2, 2, init="gaussian")
    with torch.no_grad():
        weight = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, -1.0, 0.0, 1.0]])
        fusion.conv.weight.copy_(weight[:, :, None, None])
        fusion.conv.bias.copy_(torch.tensor([0.5, -0.5]))
    # channel 0: 1*a0 + 2*a1 + 3*b0 + 4*b1 + 0.5; channel 1: -a1 + b1 - 0.5
    expected = [[[[1 + 6 + 12 - 20 + 0.5, -2 + 1 - 3 + 8 + 0.5]], [[-3 + -5 - 0.5, -0.5 + 2 - 0.5]]]]
    assert torch.allclose(fusion(A, B), torch.tensor(expected))


def test_identity_conv_fusion_is_the_weighted_sum_exactly():
    torch.manual_seed(0)
    # integers: 0.25 a and 0.75 b and their sum are exact in float32, whatever the summation order
    a = torch.randint(-50, 50, (2, 16, 5, 7)).float()
    b = torch.randint(-50, 50, (2, 16, 5, 7)).float()
    fusion = ConvFusion(16, 16)
    assert torch.equal(fusion(a, b), 0.25 * a + 0.75 * b)
    assert fusion.conv.bias.abs().sum() == 0
    real_a, real_b = torch.randn(2, 16, 5, 7), torch.randn(2, 16, 5, 7)
    assert torch.allclose(fusion(real_a, real_b), 0.25 * real_a + 0.75 * real_b, atol=1e-6)


def test_gaussian_conv_fusion_is_random():
    torch.manual_seed(0)
    weight = ConvFusion(16, 16, init="gaussian").conv.weight
    assert 0.005 < weight.std() < 0.02 and weight.abs().min() > 0


def test_identity_init_needs_equal_channels():
    with pytest.raises(ConfigError, match="equal channels"):
        ConvFusion(16, 8)


def test_gaussian_kernel_by_definition():
    g = gaussian_kernel3d(3, 1.0)
    offsets = np.array([-1.0, 0.0, 1.0])
    t, y, x = np.meshgrid(offsets, offsets, offsets, indexing="ij")
    raw = np.exp(-(t**2 + y**2 + x**2) / 2)
    assert np.allclose(g.numpy(), raw / raw.sum(), rtol=1e-12)
    assert g.sum().item() == pytest.approx(1.0) and g[1, 1, 1] == g.max()


def test_conv3d_init_equals_its_definition():
    d = 4
    weight = Conv3dFusion(d, d, frames=3).conv.weight.detach().double().numpy()
    assert weight.shape == (d, 2 * d, 3, 3, 3)
    t, y, x = np.meshgrid([-1, 0, 1], [-1, 0, 1], [-1, 0, 1], indexing="ij")
    g = np.exp(-(t**2 + y**2 + x**2) / 2.0)
    g /= g.sum()
    for o in range(d):
        for i in range(2 * d):
            scale = 0.25 if i == o else 0.75 if i == o + d else 0.0
            assert np.allclose(weight[o, i], scale * g, rtol=1e-6, atol=0), (o, i)


def test_conv3d_fusion_of_constant_clips_is_the_weighted_sum_inside():
    # the Gaussian sums to 1, so away from the zero padding a constant clip gives relu(0.25 a + 0.75 b)
    a = torch.tensor([4.0, -4.0, 8.0])[None, :, None, None].expand(5, 3, 6, 6)  # (B * T, C, H, W), T = 5
    b = torch.tensor([2.0, 1.0, -1.0])[None, :, None, None].expand(5, 3, 6, 6)
    out = Conv3dFusion(3, 3, frames=5)(a, b)
    assert out.shape == (5, 3, 6, 6)
    inside = out[1:-1, :, 1:-1, 1:-1]
    for channel, value in enumerate([1.0 + 1.5, 0.0, 2.0 - 0.75]):
        assert torch.allclose(inside[:, channel], torch.tensor(value)), channel
    assert 0 < out[0, 0, 0, 0] < 2.5  # at a corner only 8 of the 27 taps fall inside the clip


def test_pad_13_to_14_adds_a_bottom_row_and_right_column_of_zeros():
    small = torch.arange(1.0, 1 + 2 * 13 * 13).reshape(1, 2, 13, 13)
    padded = pad_to(small, torch.zeros(1, 2, 14, 14))
    assert padded.shape == (1, 2, 14, 14)
    assert torch.equal(padded[:, :, :13, :13], small)
    assert padded[:, :, 13, :].abs().sum() == 0 and padded[:, :, :, 13].abs().sum() == 0
    with pytest.raises(ShapeError, match="at most"):
        pad_to(torch.zeros(1, 2, 14, 14), small)


def test_vgg16_vggm_fusion_pads_the_temporal_map():
    with torch.device("meta"):
        model = build_model("vgg16m-conv-relu5-plus-pool3d")
        s = model.spatial.run(torch.empty(5, 3, 224, 224), upto="relu5")
        t = model.temporal.run(torch.empty(5, 20, 224, 224), upto="relu5")
    assert s.shape[2:] == (14, 14) and t.shape[2:] == (13, 13)


def test_pool3d_by_hand():
    x = torch.arange(5 * 1 * 4 * 4, dtype=torch.float32).reshape(5, 1, 4, 4)  # one clip of T = 5 snippets
    x[2, 0, 0, 1] = 1000.0
    out = Pool3d(frames=5)(x)
    # max over the 5 snippets and each 2x2 block: the last snippet's bottom-right corner of each block
    expected = x[4, 0].reshape(2, 2, 2, 2).amax(dim=(1, 3))
    expected[0, 0] = 1000.0
    assert out.shape == (1, 1, 2, 2) and torch.equal(out[0, 0], expected)


def test_concat_doubles_fc6_input():
    with torch.device("meta"):
        model = build_model("vggm-concat-relu5")
    assert model.spatial.fc6.weight.shape == (4096, 1024, 6, 6)


def test_truncation_and_kept_towers():
    with torch.device("meta"):
        single, plus = build_model("fusion3d-single"), build_model("fusion3d")
    assert single.temporal.names[-1] == "relu5_3" and plus.temporal.names[-1] == "fc8"
    assert single.fusions["relu5"].conv.weight.shape == (512, 1024, 3, 3, 3)


def test_late_fusion_predicts_the_mean_softmax():
    torch.manual_seed(0)
    model = build_model("vggm-late", width=1 / 16, input_size=64).eval()
    rgb, flow = torch.randn(2, 3, 1, 64, 64), torch.randn(2, 20, 1, 64, 64)
    heads = model(rgb, flow)
    expected = (heads["spatial"].softmax(1) + heads["temporal"].softmax(1)) / 2
    assert torch.allclose(model.predict(rgb, flow), expected)


def test_fusion3d_forward_and_backward():
    torch.manual_seed(0)
    model = build_model("fusion3d", num_classes=5, width=1 / 16, input_size=64)
    rgb, flow = torch.randn(2, 3, 5, 64, 64), torch.randn(2, 20, 5, 64, 64)
    heads = model(rgb, flow)
    assert set(heads) == {"fused", "temporal"}
    labels = torch.tensor([1, 3])
    loss = sum(F.cross_entropy(logits, labels) for logits in heads.values())
    loss.backward()
    for name in ("fusions.relu5.conv.weight", "spatial.conv1_1.weight", "temporal.conv1_1.weight",
                 "spatial.fc8.weight", "temporal.fc8.weight"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name
    before = model.fusions["relu5"].conv.weight.detach().clone()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert not torch.equal(before, model.fusions["relu5"].conv.weight)


def test_conv3d_after_3d_pooling_is_refused():
    with pytest.raises(ConfigError, match="after the 3D pooling"):
        build_model("fusion3d", layers=("fc6",), width=1 / 16, input_size=64)
