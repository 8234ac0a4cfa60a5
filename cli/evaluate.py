"""``tsf evaluate``: the paper's test protocol on a split; ``tsf fuse-scores``: late fusion of score files.

Exit statuses: 0 done; 1 a library error (a checkpoint, split, data or score file that cannot be
used, e.g. a checkpoint with non-finite weights, score files for different videos or class counts,
a non-finite score); 2 a usage error (bad options, ``--amp`` without CUDA, a ``--weights`` count
that does not match the files, the same score file given twice).
"""

from __future__ import annotations

from pathlib import Path

import click

from .errors import library_errors

__all__ = ["evaluate", "fuse_scores"]

_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@click.command("evaluate")
@click.option("--checkpoint", "checkpoints", type=click.Path(exists=True, path_type=Path), required=True,
              multiple=True, help="Run folder of tsf train (best.pt, else last.pt) or a .pt file in one; "
                                  "with --split all: three of them, or one folder holding split1..3.")
@click.option("--data", type=_DIR, required=True, help="Output folder of tsf extract-flow (JPEG or HDF5).")
@click.option("--dataset", type=click.Choice(["ucf101", "hmdb51", "list"]), required=True)
@click.option("--splits-dir", type=_DIR, required=True, help="Folder of the split files.")
@click.option("--split", type=click.Choice(["1", "2", "3", "all"]), default="1", show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder [default: RUN/eval_splitN; for --split all, eval_all beside the split runs].")
@click.option("--positions", type=click.IntRange(1), default=20, show_default=True,
              help="Clip positions spread evenly over each video (sec. 4.6: 20; 5 for a quick look).")
@click.option("--no-flip", is_flag=True, help="Do not also score each clip horizontally flipped.")
@click.option("--crop", type=click.IntRange(1), help="Centre crop of this side instead of the whole frame.")
@click.option("--stride", type=click.IntRange(1),
              help="Frames between a clip's snippets [default: the middle of the training range].")
@click.option("--batch-size", type=click.IntRange(1), default=16, show_default=True,
              help="Clips per forward pass (a flipped clip counts as one).")
@click.option("--workers", type=click.IntRange(0), default=2, show_default=True, help="DataLoader processes.")
@click.option("--amp", is_flag=True, help="bf16 mixed precision (CUDA only).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--allow-missing", is_flag=True,
              help="Skip test videos absent from the data instead of failing.")
@click.option("--quiet", is_flag=True, help="No progress bar and no log lines.")
def evaluate(checkpoints: tuple[Path, ...], data: Path, dataset: str, splits_dir: Path, split: str,
             out: Path | None, positions: int, no_flip: bool, crop: int | None, stride: int | None,
             batch_size: int, workers: int, amp: bool, device: str, allow_missing: bool, quiet: bool) -> None:
    """Score a split's test videos as the paper does (sec. 3.5, 4.6) and write the reports.

    Writes predictions.jsonl, report.json, per_class.csv and confusion.png in --out (one folder
    per split, and report.json with the mean, for --split all) and prints a Markdown summary.
    """
    # imported here: torch takes over a second to import, which other commands need not pay
    from fusionnet import ConfigError, EvalConfig, open_checkpoint, write_evaluation
    from fusionnet import evaluate as run
    from fusionnet.engine import split_checkpoints, summary_markdown, write_mean_report

    try:
        config = EvalConfig(positions=positions, flip=not no_flip, crop=crop, stride=stride,
                            batch_size=batch_size, workers=workers, amp=amp, device=device,
                            allow_missing=allow_missing)
    except ConfigError as e:
        raise click.UsageError(str(e)) from e
    if split != "all" and len(checkpoints) != 1:
        raise click.UsageError(f"--split {split} takes one --checkpoint, got {len(checkpoints)}")
    # settings that cannot run here (--amp without CUDA) are usage errors
    with library_errors(usage=(ConfigError,)):
        paths, numbers = (split_checkpoints(checkpoints), [1, 2, 3]) if split == "all" \
            else (list(checkpoints), [int(split)])
        first = open_checkpoint(paths[0])
        # --split all: beside the split runs (in the folder holding split1..3)
        default = first.run.parent / "eval_all" if split == "all" else first.run / f"eval_split{split}"
        root = out or default
        reports = []
        for number, path in zip(numbers, paths):
            if not quiet:
                click.echo(f"evaluate: split {number}, {path}", err=True)
            result = run(first if path == paths[0] else path, data, dataset, splits_dir, number, config,
                         progress=not quiet)
            reports.append(write_evaluation(result, root / f"split{number}" if split == "all" else root))
        if split == "all":
            write_mean_report(reports, root)
    click.echo(summary_markdown(reports), nl=False)
    if not quiet:
        click.echo(f"evaluate: reports in {root}", err=True)


@click.command("fuse-scores")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--weights", help="One weight per file, comma-separated [default: 1 each].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the fused scores here (JSON lines, the format of the inputs).")
def fuse_scores(files: tuple[Path, ...], weights: str | None, out: Path | None) -> None:
    """Late fusion of score files (e.g. ours and IDT's, Table 6): the weighted mean of their raw scores.

    FILES are JSON lines {"id": ..., "label": ..., "scores": [...]} (tsf evaluate's predictions.jsonl
    is one). Files for different videos or class counts, or a malformed or non-finite score, stop
    with exit status 1; a --weights list that does not match the files, or a file given twice, is a
    usage error (2).
    """
    from fusionnet import fuse_scores as fuse
    from fusionnet import read_scores
    from fusionnet.engine import write_scores

    if len(files) < 2:
        raise click.UsageError(f"fuse-scores takes at least two score files, got {len(files)}")
    parsed = _weights(weights, len(files))
    resolved = [f.resolve() for f in files]
    for i, path in enumerate(resolved):
        if path in resolved[:i]:
            raise click.BadParameter(f"{files[i]} is given twice (also as {files[resolved.index(path)]}); "
                                     "fusing a file with itself adds nothing", param_hint="FILES")
    with library_errors():
        fused = fuse([read_scores(f) for f in files], parsed)
    if out is not None:
        write_scores(out, fused.ids, fused.labels, fused.scores)
    rows = ["| scores | weight | accuracy | mean class accuracy | top-5 |", "|---|---|---|---|---|"]
    named = [*zip(map(str, files), fused.weights, fused.inputs.values()), ("fused", "", fused.metrics)]
    for name, weight, m in named:
        rows.append(f"| {name} | {weight} | {100 * m.accuracy:.2f}% | {100 * m.mean_class_accuracy:.2f}% "
                    f"| {100 * m.top5:.2f}% |")
    click.echo(f"### late fusion of {len(files)} score files, {len(fused.ids)} videos\n\n" + "\n".join(rows))


def _weights(text: str | None, count: int) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of numbers",
                                 param_hint="--weights") from None
    if len(values) != count or any(not v >= 0 for v in values) or not sum(values) > 0:
        raise click.BadParameter(f"need {count} non-negative weights, not all zero; got {text}",
                                 param_hint="--weights")
    return values

