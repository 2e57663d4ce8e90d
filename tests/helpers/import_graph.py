"""Print the import graph of the atomloop package: modules, imports that run back up, circles.

Reads every module of the package with ``ast``: platform/atomloop, and the repository's flows/
and schemas/ folders, which ship as ``atomloop.flows`` and ``atomloop.schemas``. An import is a
module-level or function-level ``import``/``from ... import`` statement, an
``importlib.import_module("literal")`` call, or a name of a package's ``lazy_exports`` table.
Usage: ``.venv/bin/python tests/helpers/import_graph.py``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
ROOT = REPOSITORY / "platform"
#: where each part of the package lives (pyproject.toml's package-dir)
PACKAGE_DIRS = {"atomloop": ROOT / "atomloop", "atomloop.flows": REPOSITORY / "flows",
                "atomloop.schemas": REPOSITORY / "schemas"}
COMPUTE_ONLY = ("qm", "select", "models")
UPPER = ("store", "db", "loop", "study", "tune", "labelling", "cli", "benchmark", "ingest", "recipes", "flows")
ABOVE_RECIPES = ("loop", "study", "flows", "cli")  # compose recipes: recipes import none of them


def module_name(path: Path, package: str = "atomloop") -> str:
    parts = [package, *path.relative_to(PACKAGE_DIRS[package]).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _dynamic_import(node: ast.AST) -> ast.Call | None:
    """``node`` when it is an ``importlib.import_module(...)`` or ``__import__(...)`` call."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    if (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in ("import_module", "__import__")
    ):
        return node
    return None


def dynamic_imports(path: Path) -> list[int]:
    """Lines of the file at ``path`` that import a module whose name is built at run time."""
    tree = ast.parse(path.read_text(), str(path))
    return [node.lineno for node in ast.walk(tree)
            if (call := _dynamic_import(node)) is not None and not isinstance(call.args[0], ast.Constant)]


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
        elif (call := _dynamic_import(node)) is not None and isinstance(call.args[0], ast.Constant):
            found.add(str(call.args[0].value))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "lazy_exports"
            and len(node.args) == 2
            and isinstance(node.args[1], ast.Dict)
        ):
            for value in node.args[1].values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    target = value.value
                    found.add(f"{package}{target}" if target.startswith(".") else target)
    return {m for m in found if m == "atomloop" or m.startswith("atomloop.")}


def files() -> dict[str, Path]:
    """Every module of the package, by name (generated migrations under schemas/versions excluded)."""
    found = {}
    for package, folder in PACKAGE_DIRS.items():
        for path in sorted(folder.rglob("*.py")):
            inner = package != "atomloop" or not any(
                path.is_relative_to(other) for name, other in PACKAGE_DIRS.items() if name != "atomloop")
            if inner and "versions" not in path.relative_to(folder).parts:
                found[module_name(path, package)] = path
    return found


def graph() -> dict[str, set[str]]:
    """Each module's imports of other modules of the package."""
    files_by_name = files()
    return {
        name: {m for m in imports_of(path, name) if m in files_by_name and m != name}
        for name, path in files_by_name.items()
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


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    """``"src -> dst"`` for each import by a compute-only package of an upper one, by a recipe of
    what composes recipes, and of ``atomloop.cli`` from outside it (``atomloop.__main__`` may)."""
    found = []
    for src in sorted(edges):
        for dst in sorted(edges[src]):
            if (
                (top(src) in COMPUTE_ONLY and top(dst) in UPPER)
                or (top(src) == "recipes" and top(dst) in ABOVE_RECIPES)
                or (top(dst) == "cli" and top(src) not in ("cli", "__main__"))
            ):
                found.append(f"{src} -> {dst}")
    return found


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Import circles between modules; a package's edges to its own submodules (and theirs to
    it) are not counted."""
    pruned = {
        s: {d for d in ds if not (d.startswith(s + ".") or s.startswith(d + "."))}
        for s, ds in edges.items()
    }
    return cycles(pruned)


def main() -> None:
    edges = graph()
    print(f"modules: {len(edges)}")
    print("imports that run back up:")
    for line in upward_imports(edges):
        print(f"  {line}")
    print("circles (strongly connected components, package __init__ edges to own submodules dropped):")
    for comp in circles(edges):
        print("  " + " <-> ".join(comp))
    print("imports of names built at run time:")
    for name, path in files().items():
        for line in dynamic_imports(path):
            print(f"  {name}:{line}")


if __name__ == "__main__":
    main()
