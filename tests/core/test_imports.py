"""The package's layering, read from the `import` statements (lazy ones included)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import mdfs

SOURCE = Path(mdfs.__file__).parent
STEP_PACKAGES = ("mdfs.collect", "mdfs.coarse", "mdfs.fine")
# What a step may not reach: the ones that run steps, and the command line above them all.
ABOVE_STEPS = ("mdfs.engines", "mdfs.tasks", "mdfs.run", "mdfs.cli", "mdfs.report", "mdfs.review")


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the mdfs modules it imports (a `from package import module` counts as the
    module, a `from module import name` as the module)."""
    modules = {module_name(path): path for path in SOURCE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(a.name for a in node.names if a.name.startswith("mdfs"))
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if not node.module.startswith("mdfs"):
                    continue
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    imported.add(full if full in modules else node.module)
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 50  # the whole package was read
    assert cycles(graph) == []


def test_cycle_finder_finds_a_lazy_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_steps_import_no_engine_and_nothing_above_them() -> None:
    upward = {
        (module, target)
        for module, targets in import_graph().items()
        if module.startswith(STEP_PACKAGES)
        for target in targets
        if target.startswith(ABOVE_STEPS)
    }
    assert upward == set()


def test_argument_parsing_lives_in_cli_only() -> None:
    """Only `mdfs.cli` builds parsers (the train wing still reads its settings from the
    parsed arguments, an `argparse.Namespace`)."""
    building = ("ArgumentParser(", ".add_argument(", ".add_parser(", "add_subparsers(")
    parsers = sorted(
        module_name(path)
        for path in SOURCE.rglob("*.py")
        if any(call in path.read_text(encoding="utf-8") for call in building)
        and not module_name(path).startswith("mdfs.cli")
    )
    assert parsers == []


def test_help_loads_no_heavy_library() -> None:
    """`mdfs --help` builds every subcommand's parser without numpy, fsspec or pydantic."""
    probe = (
        "import sys; from mdfs.cli import build_parser; build_parser(); "
        "print(' '.join(m for m in ('numpy', 'fsspec', 'pydantic', 'torch') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []
