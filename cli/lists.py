"""``tsf lists``: MMAction2 list files for every split of a dataset, from an extraction's outputs.

Exit statuses: 0 the lists were written (some split videos may be missing: the summary says which);
1 a library error (OUT is not an output of tsf extract-flow, DIR holds no split, a malformed split
file); 2 a usage error (a missing folder, a bad option).
"""

from __future__ import annotations

from pathlib import Path

import click

from .errors import library_errors

__all__ = ["lists"]

_DIR = click.Path(exists=True, file_okay=False, path_type=Path)
_SHOWN = 3  # missing ids quoted per file on stderr


@click.command("lists")
@click.argument("out", type=_DIR)
@click.option("--dataset", type=click.Choice(["ucf101", "hmdb51", "list"]), required=True)
@click.option("--splits-dir", type=_DIR, required=True,
              help="Folder of the split files (every split found is listed).")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the lists [default: OUT/lists].")
@click.option("--quiet", is_flag=True, help="No summary on stderr (errors only).")
def lists(out: Path, dataset: str, splits_dir: Path, out_dir: Path | None, quiet: bool) -> None:
    """Write MMAction2 annotation files for every split in --splits-dir, from the extraction in OUT.

    Per split N: <dataset>_{train,val}_split_<N>_rawframes.txt (frame counts) and
    <dataset>_{train,val}_split_<N>_flow.txt (flow counts), lines "<id> <count> <label>" with
    0-based labels, for the videos OUT holds; and lists.json, the settings.
    """
    # imported here: torch takes over a second to import, which other commands need not pay
    from fusionnet import write_mmaction_lists

    with library_errors():
        summary = write_mmaction_lists(out, dataset, splits_dir, out_dir)
    if quiet:
        return
    for f in summary.incomplete:
        first = ", ".join(f.missing[:_SHOWN]) + (", ..." if len(f.missing) > _SHOWN else "")
        click.echo(f"  {f.path.name}: {len(f.missing)} of {f.total} split videos not extracted "
                   f"(first: {first})", err=True)
    for note in summary.notes:
        click.echo(f"  note: {note}", err=True)
    missing = sum(len(f.missing) for f in summary.files)
    splits = ", ".join(map(str, summary.splits))
    tail = f"; {missing} entries left out (not extracted)" if missing else "; every split video listed"
    click.echo(f"lists: {dataset} split{'s' if len(summary.splits) > 1 else ''} {splits}: "
               f"{len(summary.files)} files in {summary.out_dir}{tail}", err=True)
