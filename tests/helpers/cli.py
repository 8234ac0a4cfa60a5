"""Running the real ``tsf`` command line in a new process, and finding its worker processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["ROOT", "SHARED", "children", "tsf"]

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"  # real videos and ground-truth flow, beside the team's checkout


def tsf(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 300,
        **kwargs: object) -> subprocess.CompletedProcess:
    """Run the real command line in a new process."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_ARRAY")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "cli.main", *map(str, args)], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def children(pid: int) -> list[int]:
    """The child processes of ``pid``."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found
