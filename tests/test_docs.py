"""The documentation runs as written: README.md and every page under docs/.

Conventions of the pages (docs/getting-started.md, "make docs"):

* a ```python block always runs; the blocks of one page run in order, in one namespace, in a
  fresh store (the ``database_url`` fixture) and a scratch working directory;
* a ```bash block runs only when the line above it is ``<!-- runnable -->`` (bash -euo pipefail,
  same store and directory, ``.venv/bin`` first on PATH); an unmarked bash block is an error:
  write commands that cannot run in a test (a cluster, ``make demo``) as ```console;
* a ```sql block runs against the page's (migrated, empty) store: every statement must parse and
  name existing tables and columns;
* ``<!-- fixture: NAME -->`` above a block prepares data first (:data:`FIXTURES`).

The site itself is built with ``mkdocs build --strict`` into a temporary folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_LIMIT = 10 * 1024  # bytes
README_EXAMPLE_LINES = 12  # "a ten-line example": code lines of README's python block, blank lines aside

RUN = {"python", "sql"}  # always run
MARKED = {"bash", "sh", "shell"}  # run when marked runnable, an error otherwise
INERT = {"", "console", "text", "yaml", "toml", "json", "ini"}  # shown, never run
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
MARKER = re.compile(r"^\s*<!--\s*(?P<name>[\w-]+)(?:\s*:\s*(?P<value>[\w-]+))?\s*-->\s*$")


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    markers: dict[str, str | None] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.lang in RUN or (self.lang in MARKED and "runnable" in self.markers)


def pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def blocks(page: Path) -> Iterator[Block]:
    """The fenced code blocks of ``page`` with the marker comments on the lines above each."""
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        markers: dict[str, str | None] = {}
        j = i - 1
        while j >= 0 and (marker := MARKER.match(lines[j])):
            markers[marker["name"]] = marker["value"]
            j -= 1
        fence, indent = opening["fence"], len(opening["indent"])
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(fence[0] * len(fence)):
            end += 1
        body = [line[indent:] if line[:indent].strip() == "" else line for line in lines[i + 1:end]]
        yield Block(page, i + 1, opening["lang"].lower(), "\n".join(body) + "\n", markers)
        i = end + 1


def runnable_pages() -> list[Path]:
    return [page for page in pages() if any(block.runs for block in blocks(page))]


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


# ---------------------------------------------------------------------------------------------
# fixtures the pages name


def demo_run(engine) -> None:
    """A run named ``demo`` whose round 0 is selected and labelled (HF/STO-3G, mo-pm-iao and
    ao-eda): training, test and OOD molecules, as ``make demo`` leaves them, only smaller."""
    from ase.build import molecule

    from atomloop.ingest import ingest_atoms
    from atomloop.labelling.runner import label_in_process
    from atomloop.loop import steps
    from atomloop.loop.config import LoopConfig
    from atomloop.loop.state import prepare_run

    names = ["CH4", "NH3", "H2O", "HF", "CO", "HCN", "H2CO", "CH3OH", "C2H4", "C2H2", "C2H6", "CH3CH2OH",
             "CH3CN", "CH3CHO", "C3H8", "CH3COCH3"]
    ingest_atoms([molecule(n) for n in names], source="ase:g2", tags=["demo-pool"], engine=engine)
    config = LoopConfig(pool="demo-pool", initial=8, test_size=2, ood_size=4, k=2, rounds=1, method="hf",
                        basis="sto-3g", schemes=("mo-pm-iao", "ao-eda"), architectures=("schnet",), name="demo")
    run_id = prepare_run(engine, config)
    initial = steps.select_step(engine, config, run_id, 0).molecule_ids
    steps.label_step(engine, config, run_id, 0, initial, partial(label_in_process, engine=engine))


FIXTURES: dict[str, Callable] = {"demo-run": demo_run}


# ---------------------------------------------------------------------------------------------
# what the pages promise, checked without running anything


def test_readme_is_short_and_keeps_its_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) <= README_LIMIT, f"README.md is {len(text.encode())} bytes"
    assert "make demo" in text and "make test" in text
    (example,) = [b for b in blocks(README) if b.lang == "python"]
    code_lines = [line for line in example.code.splitlines() if line.strip()]
    assert len(code_lines) <= README_EXAMPLE_LINES, example.code


def test_every_code_block_runs_or_says_it_cannot():
    problems = []
    for page in pages():
        for block in blocks(page):
            if block.lang in MARKED and "runnable" not in block.markers:
                problems.append(f"{block.where}: a {block.lang} block not marked runnable (use console)")
            elif block.lang not in RUN | MARKED | INERT:
                problems.append(f"{block.where}: unknown block language {block.lang!r}")
            for name, value in block.markers.items():
                if name == "fixture" and value not in FIXTURES:
                    problems.append(f"{block.where}: unknown fixture {value!r}")
                elif name not in {"fixture", "runnable"}:
                    problems.append(f"{block.where}: unknown marker {name!r}")
    assert not problems, "\n".join(problems)


def test_readme_links_point_at_files_that_exist():
    text = README.read_text(encoding="utf-8")
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)]+)\)", text) if "://" not in t]
    assert targets and all((ROOT / target).exists() for target in targets), [
        t for t in targets if not (ROOT / t).exists()
    ]


def test_the_site_builds_strictly(tmp_path):
    """``mkdocs build --strict`` (what ``make docs`` runs): no broken link, no unknown page, every
    docstring the API page shows rendered, the CLI reference generated from the commands."""
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for command in ("atomloop ingest", "atomloop db ase-url", "atomloop study basis-learnability",
                    "atomloop benchmark selection", "--auc-stop-margin"):
        assert command in cli, command
    api = (site / "reference" / "python-api" / "index.html").read_text(encoding="utf-8")
    for name in ("compute", "QMSettings", "adversarial_validation", "AtomloopCalculator", "training_set", "LoopConfig"):
        assert f'id="atomloop.' in api and name in api, name
    assert (site / "figures" / "partition_schemes.png").stat().st_size > 10_000
    assert "Running atomloop beyond one process" in (site / "reference" / "deploy" / "index.html").read_text()


# ---------------------------------------------------------------------------------------------
# running them


def _run_python(block: Block, namespace: dict) -> None:
    try:
        exec(compile(block.code, block.where, "exec"), namespace)  # noqa: S102 - the docs' own examples
    except Exception as error:
        raise AssertionError(f"{block.where}: the python block failed: {error!r}\n{block.code}") from error


def _run_bash(block: Block, cwd: Path) -> None:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{block.where}: exit status {done.returncode}\n{block.code}\n{done.stdout}\n{done.stderr}"


def _run_sql(block: Block, engine) -> None:
    code = "\n".join(line for line in block.code.splitlines() if not line.strip().startswith(("--", "\\")))
    statements = [statement.strip() for statement in code.split(";") if statement.strip()]
    assert statements, f"{block.where}: an sql block without a statement"
    with engine.connect() as connection:
        for statement in statements:
            try:
                connection.exec_driver_sql(statement).fetchall()
            except Exception as error:
                raise AssertionError(f"{block.where}: {error}\n{statement}") from error
            connection.rollback()


@pytest.mark.parametrize("page", runnable_pages(), ids=_page_id)
def test_code_blocks_run_as_written(page: Path, engine, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "deploy").symlink_to(ROOT / "deploy")  # paths as from a checkout: deploy/slurm.toml
    monkeypatch.chdir(work)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(sys, "path", list(sys.path))
    modules = set(sys.modules)
    namespace: dict = {"__name__": "__docs__"}
    prepared: set[str] = set()
    try:
        for block in blocks(page):
            if not block.runs:
                continue
            fixture = block.markers.get("fixture")
            if fixture and fixture not in prepared:
                FIXTURES[fixture](engine)
                prepared.add(fixture)
            if block.lang == "python":
                _run_python(block, namespace)
            elif block.lang == "sql":
                _run_sql(block, engine)
            else:
                _run_bash(block, work)
    finally:  # forget modules a page imported from its scratch folder (exported/atomloop_torchscript.py)
        for name in set(sys.modules) - modules:
            if str(getattr(sys.modules[name], "__file__", None) or "").startswith(str(tmp_path)):
                del sys.modules[name]
