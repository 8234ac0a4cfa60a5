"""``tsf describe``: a preset's layers, output shapes, parameter count and FLOPs per clip."""

from __future__ import annotations

import click

from .errors import library_errors

__all__ = ["describe"]


@click.command("describe")
@click.argument("preset", required=False)
@click.option("--classes", type=click.IntRange(min=1), default=101, show_default=True,
              help="Outputs of fc8 (101 for UCF101, 51 for HMDB51).")
@click.option("--input", "input_size", type=click.IntRange(min=1), default=224, show_default=True,
              help="Input height and width; fc6's kernel follows (6x6 for VGG-M, 7x7 for VGG-16 at 224).")
@click.option("--width", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Channel multiplier (not the paper's; 1 is the paper's networks).")
@click.option("--list", "list_", is_flag=True,
              help="List the presets with the table row of the paper each reproduces.")
def describe(preset: str | None, classes: int, input_size: int, width: float, list_: bool) -> None:
    """Print PRESET's layers (output shape, parameters, multiply-adds), its total parameters and FLOPs."""
    # imported here: torch takes over a second to import, which other commands need not pay
    from fusionnet import PAPER_ROWS, PRESETS
    from fusionnet import describe as describe_model

    if list_:
        if preset is not None:
            raise click.UsageError("give either PRESET or --list")
        wide = max(map(len, PRESETS))
        click.echo("\n".join(f"{name:<{wide}}  {PAPER_ROWS[name]}" for name in PRESETS))
        return
    if preset is None:
        raise click.UsageError("missing PRESET (or --list to see them)")
    with library_errors():
        click.echo(describe_model(preset, num_classes=classes, input_size=input_size, width=width).format())
