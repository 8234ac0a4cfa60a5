"""README.md and docs/ against the code: every command they show runs or names real options.

- README.md is at most 300 lines.
- Every command of README.md's fenced ``sh``/``bash`` blocks is run when it is short and needs no
  dataset (``tsf --help``, ``tsf describe ...``, ``tsf flow`` on a pair written here); the others
  (extract-flow, train, evaluate, torchrun, sbatch, docker, ...) are checked against the ``--help``
  of the ``tsf`` command they call: every option the line uses must be listed there, so a renamed
  option fails here. ``docs/*.md`` get the same check, without running anything.
- ``sbatch`` lines name a script that exists and passes the environment variables they set;
  ``make`` targets exist; ``pip`` extras are in pyproject.toml; ``python benchmarks/X.py`` options
  are declared by the script.
- Fenced ``python`` blocks compile, and every name they import from flowkit or fusionnet is in that
  package's ``__all__`` (imports from deeper modules are refused: users import from the package).
- Relative links resolve, anchors included.
"""

from __future__ import annotations

import ast
import functools
import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MAX_README_LINES = 300
PACKAGES = ("flowkit", "fusionnet")
# tsf subcommands short enough to run for real (no dataset, seconds); None is `tsf` itself
RUN = {None, "describe", "flow"}
# commands a line may call that have nothing to check
ACCEPTED = {"cd", "git", ".", "source"}
# README files a runnable command reads; the test writes them into its temporary folder
INPUT_FILE = re.compile(r"^[\w.-]+\.(png|jpg|flo)$")


def tsf(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real command line, in a new process, from the repository root."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_ARRAY", "TSF_"))}
    return subprocess.run([sys.executable, "-m", "cli.main", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------- reading the Markdown


def blocks(path: Path, languages: tuple[str, ...]) -> list[tuple[int, str]]:
    """``(line number, body)`` of each fenced block of one of ``languages`` in ``path``."""
    text = path.read_text()
    found = []
    for m in re.finditer(r"^```(\w*)[^\n]*\n(.*?)^```", text, re.M | re.S):
        if m.group(1) in languages:
            found.append((text.count("\n", 0, m.start()) + 2, m.group(2)))
    return found


def commands(path: Path) -> list[tuple[str, list[str]]]:
    """``("file:line", argv)`` for every command of the ``sh``/``bash`` blocks of ``path``."""
    found = []
    for start, body in blocks(path, ("sh", "bash", "shell")):
        lines = body.split("\n")
        i = 0
        while i < len(lines):
            first, line = i, lines[i]
            while line.endswith("\\") and i + 1 < len(lines):  # continuation lines
                i += 1
                line = line[:-1] + " " + lines[i]
            i += 1
            for part in re.split(r"\s(?:&&|;|\|\|)\s", line):
                argv = shlex.split(part, comments=True)
                if argv:
                    found.append((f"{path.relative_to(ROOT)}:{start + first}", argv))
    return found


def python_blocks(path: Path) -> list[tuple[str, str]]:
    return [(f"{path.relative_to(ROOT)}:{line}", body) for line, body in blocks(path, ("python", "py"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, re.M)}


# ---------------------------------------------------------------- what the code offers


@functools.cache
def help_text(*sub: str) -> str:
    done = tsf(*sub, "--help")
    assert done.returncode == 0, f"tsf {' '.join(sub)} --help failed:\n{done.stderr}"
    return done.stdout


@functools.cache
def subcommands() -> frozenset[str]:
    section = help_text().split("Commands:", 1)[1]
    return frozenset(re.findall(r"^  ([a-z][\w-]*)", section, re.M))


@functools.cache
def options(sub: str | None) -> frozenset[str]:
    """The options ``tsf [sub] --help`` declares (its option column, not its prose)."""
    section = help_text(*([sub] if sub else [])).split("Options:", 1)[1].split("Commands:", 1)[0]
    found = set()
    for line in section.splitlines():
        m = re.match(r"^  (-.*?)(?:\s{2,}|$)", line)
        if m:
            found.update(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", m.group(1)))
    return frozenset(found)


def used_options(argv: list[str]) -> list[str]:
    """Options of a command line: ``--name`` and ``-x`` tokens, values cut off (``--a=b``)."""
    return [a.split("=", 1)[0] for a in argv if re.match(r"^--?[A-Za-z]", a)]


# ---------------------------------------------------------------- checking one command


def check_tsf(argv: list[str], where: str) -> str | None:
    """``argv`` after ``tsf``: its subcommand exists and lists every option used; returns the subcommand."""
    sub = argv[0] if argv and not argv[0].startswith("-") else None
    if sub is not None:
        assert sub in subcommands(), f"{where}: `tsf {sub}` is not a command ({sorted(subcommands())})"
    unknown = [o for o in used_options(argv) if o not in options(sub)]
    assert not unknown, f"{where}: `tsf {sub or ''}` has no option {', '.join(unknown)}: {' '.join(argv)}"
    return sub


def check_sbatch(argv: list[str], env: list[str], where: str) -> None:
    script = next((a for a in argv if a.endswith(".sbatch")), None)
    assert script, f"{where}: sbatch without a .sbatch script"
    path = ROOT / script
    assert path.is_file(), f"{where}: no {script}"
    text = path.read_text()
    for name in env:
        assert re.search(rf"\$\{{?{name}\b", text), f"{where}: {script} does not read {name}"
    calls = re.findall(r"(?:\$TSF|\bcli\.main)\s+([a-z][\w-]*)", text)
    assert calls, f"{where}: {script} calls no tsf command"
    check_tsf([calls[0], *argv[argv.index(script) + 1:]], where)


def check_python(argv: list[str], where: str) -> None:
    rest = argv[1:]
    if rest[:1] == ["-m"] or rest[:1] == ["-c"]:
        assert rest[:2] != ["-m", "cli.main"], f"{where}: write `tsf`, not python -m cli.main"
        return
    script = ROOT / rest[0]
    assert script.is_file(), f"{where}: no {rest[0]}"
    source = script.read_text()
    unknown = [o for o in used_options(rest[1:]) if f'"{o}"' not in source and f"'{o}'" not in source]
    assert not unknown, f"{where}: {rest[0]} declares no option {', '.join(unknown)}"


def check_command(argv: list[str], where: str) -> None:
    """Check one command line that is not run: it must be one this test knows how to check."""
    env = []
    while argv and re.match(r"^[A-Z_][A-Z0-9_]*=", argv[0]):
        env.append(argv.pop(0).split("=", 1)[0])
    if argv[:1] == ["nice"]:
        argv = argv[3:] if argv[1:2] == ["-n"] else argv[1:]
    name = Path(argv[0]).name or argv[0]
    if argv[0] == "tsf":
        check_tsf(argv[1:], where)
    elif name == "torchrun":
        assert "cli.main" in argv, f"{where}: torchrun runs tsf as `-m cli.main`"
        check_tsf(argv[argv.index("cli.main") + 1:], where)
    elif name == "sbatch":
        check_sbatch(argv, env, where)
    elif name in ("docker", "apptainer"):
        if argv[1] == "build" and "-f" in argv:
            assert (ROOT / argv[argv.index("-f") + 1]).is_file(), f"{where}: no {argv[argv.index('-f') + 1]}"
        elif "tsf" in argv[2:]:  # docker run ... tsf SUB ...; apptainer exec ... tsf SUB ...
            check_tsf(argv[argv.index("tsf", 2) + 1:], where)
        else:
            assert argv[1] == "build", f"{where}: no check for `{' '.join(argv)}`"
    elif name == "make":
        makefile = (ROOT / "Makefile").read_text()
        for target in argv[1:]:
            assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"{where}: no make target {target}"
    elif name in ("pip", "pip3"):
        pyproject = (ROOT / "pyproject.toml").read_text()
        extras = pyproject.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
        for arg in argv[2:]:
            for extra in re.findall(r"^\.\[([\w,-]+)\]$", arg)[:1]:
                for e in extra.split(","):
                    assert re.search(rf"^{e}\s*=", extras, re.M), f"{where}: pyproject.toml has no extra {e}"
    elif name.startswith("python"):
        check_python(argv, where)
    else:
        assert name in ACCEPTED, (f"{where}: no check for `{' '.join(argv)}`; teach tests/test_readme.py "
                                  "how to check it, or write the command another way")


# ---------------------------------------------------------------- the tests


def test_readme_is_short() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= MAX_README_LINES, f"README.md: {lines} lines; at most {MAX_README_LINES}"


def test_the_mmaction2_section_is_where_the_lists_tests_look() -> None:
    # the lists tests execute the python block after this heading
    text = README.read_text()
    assert "### Training with MMAction2" in text
    assert "```python" in text.split("### Training with MMAction2", 1)[1].split("\n## ", 1)[0]


README_COMMANDS = commands(README)
DOC_COMMANDS = [c for doc in DOCS for c in commands(doc)]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``frame0.png``, ``frame1.png`` (a texture moved 1 px right) and ``truth.flo``."""
    folder = tmp_path_factory.mktemp("pair")
    noise = np.random.default_rng(0).uniform(0, 255, (64, 80)).astype(np.float32)
    blurred = cv2.GaussianBlur(noise, (0, 0), 2)
    texture = cv2.normalize(blurred, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    for name, image in (("frame0.png", texture), ("frame1.png", np.roll(texture, 1, axis=1))):
        cv2.imwrite(str(folder / name), np.repeat(image[..., None], 3, axis=2))
    truth = np.zeros((64, 80, 2), np.float32)
    truth[..., 0] = 1.0
    with open(folder / "truth.flo", "wb") as f:  # Middlebury: magic, width, height, (u, v) per pixel
        f.write(np.float32(202021.25).tobytes() + np.array([80, 64], np.int32).tobytes() + truth.tobytes())
    return folder


@pytest.mark.parametrize("where, argv", README_COMMANDS, ids=[" ".join(a)[:60] for _, a in README_COMMANDS])
def test_readme_command(where: str, argv: list[str], pair: Path, tmp_path: Path) -> None:
    sub = argv[1] if argv[0] == "tsf" and len(argv) > 1 and not argv[1].startswith("-") else None
    if argv[0] != "tsf" or sub not in RUN:
        check_command(list(argv), where)
        return
    check_tsf(argv[1:], where)
    args = []
    for a in argv[1:]:  # file names: inputs from the generated pair, outputs into tmp_path
        if INPUT_FILE.match(a):
            a = str(pair / a) if (pair / a).exists() else str(tmp_path / a)
        args.append(a)
    done = tsf(*args)
    assert done.returncode == 0, f"{where}: `{' '.join(argv)}` exited {done.returncode}:\n{done.stderr}"
    if sub == "flow" and "--truth" in argv:
        assert "EPE" in done.stderr, done.stderr


@pytest.mark.parametrize("where, argv", DOC_COMMANDS, ids=[w for w, _ in DOC_COMMANDS])
def test_docs_command(where: str, argv: list[str]) -> None:
    check_command(list(argv), where)


PYTHON_BLOCKS = python_blocks(README) + [b for doc in DOCS for b in python_blocks(doc)]


@pytest.mark.parametrize("where, source", PYTHON_BLOCKS, ids=[w for w, _ in PYTHON_BLOCKS])
def test_python_block(where: str, source: str) -> None:
    compile(source, where, "exec")
    tree = ast.parse(source, where)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                modules = [a.name for a in node.names]
            deep = [m for m in modules if m.split(".")[0] in PACKAGES and "." in m]
            assert not deep, f"{where}: import from {deep[0]}: users import from the package itself"
        if isinstance(node, ast.ImportFrom) and node.module in PACKAGES:
            public = set(importlib.import_module(node.module).__all__)
            missing = [a.name for a in node.names if a.name not in public]
            assert not missing, f"{where}: {node.module}.__all__ has no {', '.join(missing)}"


def test_links_resolve() -> None:
    broken = []
    for page in [README, *DOCS]:
        text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.M | re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            path = (page.parent / file).resolve() if file else page
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_checks_catch_a_renamed_option() -> None:
    with pytest.raises(AssertionError, match="no option --no-such-option"):
        check_command(["tsf", "train", "--stage", "fusion", "--no-such-option", "1"], "example")
    with pytest.raises(AssertionError, match="no option --no-such-option"):
        check_command(["torchrun", "--nproc-per-node", "2", "-m", "cli.main", "evaluate", "--no-such-option"],
                      "example")
    with pytest.raises(AssertionError, match="does not read NOPE"):
        check_command(["NOPE=1", "sbatch", "docker/slurm/extract_flow.sbatch"], "example")
    with pytest.raises(AssertionError, match="no check for"):
        check_command(["rm", "-rf", "data"], "example")
    check_command(["tsf", "extract-flow", "a", "b", "--jobs", "2", "--format=hdf5"], "example")
