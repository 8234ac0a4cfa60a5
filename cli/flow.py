"""``tsf flow``: the flow of one frame pair, as a ``.flo`` file and a colour picture."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np

from flowkit import (
    BACKENDS,
    BROX_PRESETS,
    DEFAULT_PRESETS,
    METHODS,
    TVL1_PRESETS,
    FlowError,
    ImageReadError,
    __version__,
    atomic_write,
    compute_flow,
    endpoint_error,
    flow_backend,
    flow_params,
    flow_to_color,
    read_flo,
    read_image,
    write_flo,
    write_image,
)

from .errors import library_errors

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_OUT = click.Path(dir_okay=False, writable=True, path_type=Path)


def _load(path: Path, hint: str) -> np.ndarray:
    try:
        return read_image(path)
    except ImageReadError as e:
        raise click.BadParameter(str(e), param_hint=hint) from e


@click.command("flow")
@click.argument("img0", type=_FILE)
@click.argument("img1", type=_FILE)
@click.option("--method", type=click.Choice(METHODS), default="tvl1", show_default=True)
@click.option("--backend", type=click.Choice(BACKENDS), default="auto", show_default=True,
              help="auto: cupy when a CUDA device is usable, else opencv (tvl1) or numpy (brox).")
@click.option("--preset", metavar="NAME",
              help=f"Parameters; default {DEFAULT_PRESETS['tvl1']} for tvl1 ({', '.join(TVL1_PRESETS)}), "
                   f"{DEFAULT_PRESETS['brox']} for brox ({', '.join(BROX_PRESETS)}).")
@click.option("-o", "--output", type=_OUT, help="Write the flow as a Middlebury .flo file (and OUTPUT.json).")
@click.option("--viz", type=_OUT, help="Write the Middlebury colour-wheel picture (PNG).")
@click.option("--truth", type=_FILE, help="Ground-truth .flo: also report the end-point error.")
@click.option("--quiet", is_flag=True, help="Print nothing.")
def flow(img0: Path, img1: Path, method: str, backend: str, preset: str | None, output: Path | None,
         viz: Path | None, truth: Path | None, quiet: bool) -> None:
    """Compute the optical flow from IMG0 to IMG1 and print a one-line summary."""
    preset = preset or DEFAULT_PRESETS[method]
    try:
        params = flow_params(method, preset)
    except FlowError as e:
        raise click.BadParameter(str(e), param_hint="--preset") from e
    frame0, frame1 = _load(img0, "IMG0"), _load(img1, "IMG1")
    if frame0.shape != frame1.shape:
        size = lambda f: f"{f.shape[1]}x{f.shape[0]}"
        raise click.BadParameter(f"{img1} is {size(frame1)} but {img0} is {size(frame0)}", param_hint="IMG1")
    with library_errors():
        expected = read_flo(truth) if truth else None
        concrete = flow_backend(method, backend)
        start = time.perf_counter()
        result = compute_flow(frame0, frame1, method=method, backend=concrete, params=params)
        seconds = time.perf_counter() - start
        for path in (output, viz):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
        if output is not None:
            write_flo(output, result)
            record = {
                "tsf_version": __version__, "method": method, "backend": concrete, "preset": preset,
                "params": params.to_dict(), "frame0": str(img0), "frame1": str(img1),
                "width": frame0.shape[1], "height": frame0.shape[0], "seconds": round(seconds, 4),
            }
            atomic_write(output.with_name(output.name + ".json"), json.dumps(record, indent=2).encode())
        if viz is not None:
            write_image(viz, flow_to_color(result))
        error = endpoint_error(result, expected) if expected is not None else None
    if not quiet:
        magnitude = np.linalg.norm(result, axis=2)
        line = (f"{img0.name} -> {img1.name}: {frame0.shape[1]}x{frame0.shape[0]}, {method}/{concrete}, "
                f"{seconds:.2f} s, mean {magnitude.mean():.2f} px, max {magnitude.max():.2f} px")
        if error is not None:
            line += f", EPE {error:.3f} px"
        click.echo(line, err=True)
