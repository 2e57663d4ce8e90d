"""The package as users install it: a wheel that carries its flows and migrations, a quick CLI."""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
HEAD_REVISION = max(p.name[:4] for p in (REPOSITORY / "schemas" / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))  # the newest migration
UNTRACKED = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")
LAZY_PACKAGES = ("datasets", "db", "labelling", "loop", "models", "qm", "select", "store", "study", "tune")
HEAVY = ("torch", "sklearn", "pyscf", "sqlalchemy", "prefect", "rdkit", "ase", "nequip", "optuna")


def test_setuptools_packages_are_the_packages_of_the_tree():
    config = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["tool"]["setuptools"]
    roots = {name: REPOSITORY / folder for name, folder in config["package-dir"].items()}
    on_disk = {
        ".".join(init.parent.relative_to(REPOSITORY / "platform").parts)
        for init in (REPOSITORY / "platform" / "atomloop").rglob("__init__.py")
    }
    for name in ("atomloop.flows", "atomloop.schemas"):
        on_disk |= {
            ".".join([name, *init.parent.relative_to(roots[name]).parts])
            for init in roots[name].rglob("__init__.py")
        }
    data_only = {"atomloop.data", "atomloop.data.qm9_labelled", "atomloop.data.larger_labelled", "atomloop.schemas.views"}
    assert set(config["packages"]) == on_disk | data_only


def test_the_command_line_starts_without_importing_the_heavy_libraries():
    probe = "import sys, atomloop.cli; print(' '.join(m for m in {!r} if m in sys.modules))".format(HEAVY)
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []
    shown = subprocess.run([sys.executable, "-m", "atomloop", "loop", "--help"], capture_output=True, text=True)
    assert shown.returncode == 0 and "--auc-stop-margin" in shown.stdout and "--plateau-tolerance" in shown.stdout
    assert "--atomic-weight" in shown.stdout


def test_lazy_package_names_are_the_objects_not_same_named_submodules():
    """A public name may not equal a submodule's name: importing the submodule would shadow it."""
    for name in LAZY_PACKAGES:
        package = importlib.import_module(f"atomloop.{name}")
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"atomloop.{name}.{module.name}")
        for public in package.__all__:
            assert not isinstance(getattr(package, public), type(package)), f"atomloop.{name}.{public}"


def test_the_computing_packages_import_no_sqlalchemy():
    """qm, select, models, the study's computing modules, the functional groups and the reports work on
    plain objects: importing all of them loads no SQLAlchemy (all SQL lives in atomloop.store)."""
    computing = [f"atomloop.{package}.{module.name}" for package in ("qm", "select", "models")
                 for module in pkgutil.iter_modules(importlib.import_module(f"atomloop.{package}").__path__)]
    computing += [f"atomloop.study.{name}" for name in ("matrix", "splits", "training_sets", "breakdown", "plots", "report")]
    computing += ["atomloop.datasets.functional_groups"]
    computing += [f"atomloop.report.{name}" for name in ("run", "html", "depictions", "plots", "markdown")]
    probe = f"import sys; [__import__(m) for m in {computing!r}]; print('sqlalchemy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "False"


def _sql_imports(path: Path) -> list[str]:
    """What a module imports from SQLAlchemy beyond the handles a caller of the store holds
    (an engine, a session, a URL parser, the connection error a retry catches), and any
    import of the ORM tables."""
    handles = {"Engine", "Session", "OperationalError", "make_url"}
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] == "sqlalchemy":
                found += [f"{node.module}.{alias.name}" for alias in node.names if alias.name not in handles]
            if node.module == "atomloop.store.tables":
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "sqlalchemy"]
    return found


def test_all_sql_lives_in_the_store():
    """Outside ``atomloop.store`` (queries, tables) and ``atomloop.db`` (server, engine,
    migrations) no module builds a query or touches a table: they pass sessions to the store."""
    package = REPOSITORY / "platform" / "atomloop"
    modules = [p for p in package.rglob("*.py") if p.relative_to(package).parts[0] not in ("store", "db")]
    modules += list((REPOSITORY / "flows").rglob("*.py"))
    offenders = {str(p.relative_to(REPOSITORY)): found for p in modules if (found := _sql_imports(p))}
    assert offenders == {}


def test_a_bad_loop_option_is_one_line_and_exit_2_before_anything_starts():
    result = subprocess.run(
        [sys.executable, "-m", "atomloop", "loop", "--strategy", "adverserial"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: Invalid value for '--strategy': unknown strategy 'adverserial'; choose adversarial, random, committee, "
        "hybrid, k-center, coverage, lcmd, targeted or targeted-lcmd (see 'atomloop loop --help')"
    ]


TINY_POOL = """3
water
O 0.0 0.0 0.119
H 0.0 0.763 -0.477
H 0.0 -0.763 -0.477
2
hydrogen fluoride
F 0.0 0.0 0.0
H 0.0 0.0 0.917
3
hydrogen cyanide
C 0.0 0.0 0.0
N 0.0 0.0 1.156
H 0.0 0.0 -1.066
5
methane
C 0.0 0.0 0.0
H 0.629 0.629 0.629
H -0.629 -0.629 0.629
H -0.629 0.629 -0.629
H 0.629 -0.629 -0.629
4
ammonia
N 0.0 0.0 0.117
H 0.0 0.940 -0.273
H 0.814 -0.470 -0.273
H -0.814 -0.470 -0.273
2
carbon monoxide
C 0.0 0.0 0.0
O 0.0 0.0 1.128
2
dinitrogen
N 0.0 0.0 0.0
N 0.0 0.0 1.098
4
formaldehyde
C 0.0 0.0 0.0
O 0.0 0.0 1.205
H 0.0 0.940 -0.587
H 0.0 -0.940 -0.587
"""


def test_the_wheel_alone_migrates_a_fresh_embedded_store_and_runs_a_tiny_loop(tmp_path, prefect_api):
    """Built and installed without the checkout (no -e): flows and schemas come from the wheel."""
    source, dist, site, work = (tmp_path / name for name in ("source", "dist", "site", "elsewhere"))
    work.mkdir()
    shutil.copytree(REPOSITORY, source, ignore=shutil.ignore_patterns(*UNTRACKED))  # builds leave build/ behind
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)], check=True)
    (wheel,) = dist.glob("atomloop-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("ATOMLOOP_")}
    env.update(PYTHONPATH=str(site), ATOMLOOP_HOME=str(tmp_path / "home"))

    def atomloop(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "atomloop", *args], cwd=work, env=env, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    try:
        where = subprocess.run(
            [sys.executable, "-c", "import atomloop.flows, atomloop.schemas; print(atomloop.flows.__file__)"],
            cwd=work, env=env, capture_output=True, text=True, check=True,
        ).stdout
        assert Path(where).is_relative_to(site)
        assert (site / "atomloop" / "data" / "browse-assets" / "x3dom-1.8.3.js").is_file()  # the browser's offline assets
        (work / "tiny.xyz").write_text(TINY_POOL)
        assert "8 added" in atomloop("ingest", "tiny.xyz", "--tag", "tiny")
        table = atomloop(
            "loop", "--pool", "tiny", "--initial", "2", "--test-size", "1", "--ood-size", "0", "--k", "1",
            "--rounds", "1", "--strategy", "random", "--arch", "schnet", "--target", "total", "--epochs", "1",
            "--no-stop-on-auc", "--name", "from-the-wheel", "--workers", "1", "--device", "cpu",
        )
        assert "run from-the-wheel" in table and table.count("\n") >= 3, table
        probe = (
            "from atomloop.db.migrate import current_revision, schemas_dir; from atomloop.db import session_scope;"
            "from atomloop.db.connect import database_url; from sqlalchemy import text; s = session_scope().__enter__();"
            "print(current_revision(database_url()), schemas_dir(), s.execute(text('SELECT count(*) FROM models')).scalar())"
        )
        revision, schemas, models = subprocess.run(
            [sys.executable, "-c", probe], cwd=work, env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        assert revision == HEAD_REVISION and Path(schemas).is_relative_to(site) and models == "2"
    finally:
        subprocess.run([sys.executable, "-m", "atomloop", "db", "stop"], cwd=work, env=env, capture_output=True)
        from atomloop.db.embedded import EmbeddedPostgres

        EmbeddedPostgres(tmp_path / "home" / "postgres").destroy()  # its folder may lie outside tmp_path
