"""Print the import graph of the atomloop package: modules, imports that run back up, circles.

Reads every module under platform/atomloop with ``ast`` (module-level and function-level
``import``/``from ... import`` statements, and ``importlib.import_module("literal")`` calls).
Usage: ``.venv/bin/python tests/helpers/import_graph.py``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "platform"
COMPUTE_ONLY = ("qm", "select", "models")
UPPER = ("store", "db", "loop", "study", "tune", "labelling", "cli", "benchmark", "ingest")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str) -> set[str]:
    """Atomloop modules imported anywhere in the file at ``path`` (module ``name``)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return {m for m in found if m == "atomloop" or m.startswith("atomloop.")}


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in sorted((ROOT / "atomloop").rglob("*.py"))}
    return {
        name: {m for m in imports_of(path, name) if m in files and m != name}
        for name, path in files.items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of size > 1 (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def top(name: str) -> str:
    return name.split(".")[1] if name.count(".") else ""


def main() -> None:
    edges = graph()
    print(f"modules: {len(edges)}")
    print("imports that run back up:")
    for src in sorted(edges):
        for dst in sorted(edges[src]):
            if top(src) in COMPUTE_ONLY and top(dst) in UPPER:
                print(f"  {src} -> {dst}")
            elif top(dst) == "cli" and top(src) not in ("cli", "__main__"):
                print(f"  {src} -> {dst}")
    print("circles (strongly connected components, package __init__ edges to own submodules dropped):")
    pruned = {
        s: {d for d in ds if not (d.startswith(s + ".") or s.startswith(d + "."))}
        for s, ds in edges.items()
    }
    for comp in cycles(pruned):
        print("  " + " <-> ".join(comp))


if __name__ == "__main__":
    main()
