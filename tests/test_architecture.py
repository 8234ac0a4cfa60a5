"""The layout's rules, checked on the source: imports run one way (no circles inside flowkit or
fusionnet, flowkit never imports fusionnet), and no module imports another module's private names."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flowkit", "fusionnet", "cli")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path) -> Iterator[tuple[str, str | None, int]]:
    """``(module, name, line)`` for every import in ``path`` (inside functions and TYPE_CHECKING too);
    ``name`` is the imported name of a ``from`` import, else ``None``."""
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield base, alias.name, node.lineno


def import_graph(root: Path, packages: tuple[str, ...]) -> tuple[dict[str, set[str]], list[str]]:
    """Edges between the modules of ``packages`` under ``root``, and the private-name imports found."""
    files = {module_name(p, root): p for pkg in packages for p in sorted((root / pkg).rglob("*.py"))}
    edges: dict[str, set[str]] = {m: set() for m in files}
    private = []
    for module, path in files.items():
        for target, name, line in imports(path, root):
            if name is not None and f"{target}.{name}" in files:  # ``from pkg import submodule``
                edges[module].add(f"{target}.{name}")
            elif target in files:
                edges[module].add(target)
            if (name is not None and name.startswith("_") and not name.startswith("__")
                    and target.split(".")[0] in packages and target != module):
                private.append(f"{path.relative_to(root)}:{line}: imports {name} from {target}")
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    edges, _ = import_graph(ROOT, PACKAGES)
    assert cycles(edges) == []


def test_no_private_names_across_modules() -> None:
    _, private = import_graph(ROOT, PACKAGES)
    assert private == []


def test_imports_flow_one_way() -> None:
    edges, _ = import_graph(ROOT, PACKAGES)
    upward = [f"{m} -> {t}" for m, targets in edges.items() for t in targets
              if (m.startswith("flowkit") and not t.startswith("flowkit"))
              or (m.startswith("fusionnet") and t.startswith("cli"))]
    assert upward == []


def test_tests_never_import_each_other() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}: imports {target}" for path in sorted((ROOT / "tests").rglob("*.py"))
             for target, _, line in imports(path, ROOT)
             if target.split(".")[-1].startswith("test_") or target.split(".")[0] == "conftest"]
    assert found == []


@pytest.mark.parametrize("case", ["circle", "type-checking circle", "private", "clean"])
def test_the_checks_find_what_they_look_for(tmp_path: Path, case: str) -> None:
    pkg = tmp_path / "flowkit"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import run as run\n")
    (pkg / "sub/__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n\ndef run():\n    return b.X\n")
    body = {"circle": "def f():\n    from ..a import run\n",
            "type-checking circle": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import a\n"}
    (pkg / "sub/b.py").write_text(body.get(case, "X = 1\n"))
    (pkg / "c.py").write_text("from .a import _helper\n" if case == "private" else "from .a import run\n")
    edges, private = import_graph(tmp_path, ("flowkit",))
    assert bool(cycles(edges)) == case.endswith("circle")
    assert private == (["flowkit/c.py:1: imports _helper from flowkit.a"] if case == "private" else [])
