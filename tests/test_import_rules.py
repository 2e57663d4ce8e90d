"""The package's import rules, read from the source with ``ast`` (function-level imports and the
``lazy_exports`` tables included; :mod:`tests.helpers.import_graph`, which also prints the graph).

* the compute-only packages ``qm``, ``select`` and ``models`` import nothing from the store, the
  database, the loop, the studies, tuning, labelling, ingestion, the benchmarks, the recipes, the
  flows or the CLI;
* the recipes import nothing from what composes them: the loop, the studies, the flows, the CLI;
* nothing imports ``atomloop.cli`` but ``atomloop.cli`` itself and ``atomloop.__main__``;
* no two modules import each other, directly or around a circle;
* no module imports a name built at run time, but :mod:`atomloop.lazy` (the ``lazy_exports``
  tables, read here) and ``atomloop.cli`` (its own subcommand modules): the flows are imported by
  name, and every flow under flows/ loads by its entrypoint.
"""

from __future__ import annotations

import ast

import import_graph  # tests/helpers/, on the path by conftest.py
import pytest

from atomloop.errors import InputError

RUN_TIME_NAMES_ALLOWED = {"atomloop.lazy", "atomloop.cli"}


@pytest.fixture(scope="module")
def edges() -> dict[str, set[str]]:
    return import_graph.graph()


def test_the_graph_reads_the_whole_package(edges):
    assert {"atomloop.models.fitting", "atomloop.flows.active_learning", "atomloop.schemas.env",
            "atomloop.recipes.export_model"} <= set(edges)
    assert "atomloop.models.networks" in edges["atomloop.models.fitting"]
    assert "atomloop.models.calculator" in edges["atomloop.models"]  # a lazy_exports table


def test_compute_only_packages_recipes_and_nothing_but_the_cli_import_upward(edges):
    assert import_graph.upward_imports(edges) == []


def test_no_import_circles(edges):
    assert import_graph.circles(edges) == []


def test_modules_are_imported_by_name():
    found = {name: lines for name, path in import_graph.files().items()
             if (lines := import_graph.dynamic_imports(path)) and name not in RUN_TIME_NAMES_ALLOWED}
    assert found == {}


def test_the_rules_catch_a_violation():
    broken = {"atomloop.models.a": {"atomloop.store.b"}, "atomloop.store.b": {"atomloop.db.c"},
              "atomloop.db.c": {"atomloop.store.b"}, "atomloop.loop.d": {"atomloop.cli.e"},
              "atomloop.cli.e": set(), "atomloop.__main__": {"atomloop.cli.e"},
              "atomloop.recipes.f": {"atomloop.loop.d", "atomloop.store.b"}}
    assert import_graph.upward_imports(broken) == ["atomloop.loop.d -> atomloop.cli.e",
                                                   "atomloop.models.a -> atomloop.store.b",
                                                   "atomloop.recipes.f -> atomloop.loop.d"]
    assert import_graph.circles(broken) == [["atomloop.db.c", "atomloop.store.b"]]


def _flow_functions() -> set[str]:
    """``file.py:function`` of every function under flows/ decorated with Prefect's ``flow(...)``."""
    found = set()
    for path in sorted(import_graph.PACKAGE_DIRS["atomloop.flows"].glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "flow" for d in node.decorator_list
            ):
                found.add(f"{path.name}:{node.name}")
    return found


def test_every_flow_loads_by_its_entrypoint():
    from atomloop.loop.entrypoints import ENTRYPOINTS, load_flow

    assert set(ENTRYPOINTS) == _flow_functions()
    for entrypoint in ENTRYPOINTS:
        flow = load_flow(f"flows/{entrypoint}")
        assert flow.fn.__name__ == entrypoint.partition(":")[2]
        assert flow.fn.__module__ == f"atomloop.flows.{entrypoint.partition('.py')[0]}"
    with pytest.raises(InputError, match=r"^no flow 'flows/report.py:report'; atomloop's flows: active_learning.py"):
        load_flow("flows/report.py:report")
