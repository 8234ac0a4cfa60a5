"""``tsf``: one command for flow extraction, training and evaluation."""

from __future__ import annotations

import click

from flowkit import __version__

from .describe import describe
from .evaluate import evaluate, fuse_scores
from .extract import extract_flow
from .flow import flow
from .lists import lists
from .synth import synth
from .train import train

__all__ = ["main", "tsf"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tsf")
def tsf() -> None:
    """Two-stream action recognition: optical flow, training and evaluation."""


tsf.add_command(flow)
tsf.add_command(describe)
tsf.add_command(extract_flow)
tsf.add_command(train)
tsf.add_command(evaluate)
tsf.add_command(fuse_scores)
tsf.add_command(synth)
tsf.add_command(lists)


def main() -> None:
    """Console entry point; options also read TSF_<COMMAND>_<OPTION> environment variables."""
    tsf(auto_envvar_prefix="TSF")


if __name__ == "__main__":
    main()
