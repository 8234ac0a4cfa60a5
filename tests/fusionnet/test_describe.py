"""``tsf describe`` through Click's runner, and the multiply-add count of fusionnet.describe."""

from click.testing import CliRunner

from cli.main import tsf
from fusionnet import PRESETS, describe


def run(*args):
    return CliRunner().invoke(tsf, ["describe", *args])


def test_vggm_spatial_parameters():
    result = run("vggm-spatial", "--classes", "101")
    assert result.exit_code == 0, result.output
    assert "total parameters: 90,627,813" in result.output
    assert "spatial.fc6" in result.output and "512x6x6" in result.output


def test_vggm_temporal_parameters():
    result = run("vggm-temporal", "--classes", "101")
    assert result.exit_code == 0, result.output
    assert "total parameters: 90,707,781" in result.output
    assert "temporal.norm2" not in result.output


def test_classes_width_and_input_change_the_count():
    # 50 fewer classes: 50 x (2048 + 1) fewer fc8 parameters
    assert "total parameters: 90,525,363" in run("vggm-spatial", "--classes", "51").output
    small = run("fusion3d", "--width", "0.25", "--input", "112")
    assert small.exit_code == 0 and "clip: 5 snippet(s) of 112x112" in small.output
    assert "1x128x3x3" in small.output  # 3D pooling of the 7x7 relu5_3 map at 112


def test_list_names_every_preset_and_its_table_row():
    result = run("--list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(PRESETS)
    assert any(line.startswith("vggm-conv-relu5 ") and "Table 1" in line for line in lines)
    assert any(line.startswith("fusion3d ") and "Table 5" in line for line in lines)


def test_unknown_preset_is_a_one_line_error():
    result = run("vggm-conv-relu6")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: unknown preset 'vggm-conv-relu6'; did you mean vggm-conv-relu5, vggm-conv-relu4, "
        "vggm-conv-relu3? (`tsf describe --list` shows all 21)"]


def test_usage_errors_exit_2():
    assert run().exit_code == 2
    assert run("fusion3d", "--list").exit_code == 2
    assert run("fusion3d", "--width", "0").exit_code == 2
    too_small = run("vggm-spatial", "--input", "32")
    assert too_small.exit_code == 1 and ">=57" in too_small.output


def test_vggm_multiply_adds_by_hand():
    # (output pixels x output channels) x (kernel x kernel x input channels), VGG-M-2048 at 224
    layers = [(109 * 109, 96, 7 * 7 * 3), (26 * 26, 256, 5 * 5 * 96), (13 * 13, 512, 3 * 3 * 256),
              (13 * 13, 512, 3 * 3 * 512), (13 * 13, 512, 3 * 3 * 512), (1, 4096, 6 * 6 * 512),
              (1, 2048, 4096), (1, 101, 2048)]
    assert describe("vggm-spatial").macs == sum(p * o * k for p, o, k in layers)


def test_fusion3d_counts_five_snippets_and_the_3d_conv():
    summary = describe("fusion3d")
    rows = {row.name: row for row in summary.rows}
    assert rows["spatial.conv1_1"].shape == (5, 64, 224, 224)
    assert rows["fusions.relu5"].macs == 5 * 14 * 14 * 512 * (3 * 3 * 3 * 1024)
    assert rows["fusions.relu5"].params == 512 * 1024 * 27 + 512
    assert summary.total_params == sum(row.params for row in summary.rows)
