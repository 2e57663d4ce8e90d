"""Every option that takes one of a few words, and every id or name that must name something in
the store: a bad value is one line, exit status 2, with the choices as words, found while
parsing (before torch, PySCF or Prefect are imported), so in well under 2 s."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from atomloop.cli import EXIT_USAGE
from atomloop.cli.choices import ARCHITECTURE, TASK_RUNNERS, TRAINING_DEVICES, words
from atomloop.loop.config import STRATEGIES

SCHEMES = ("ao-eda, mo-canonical-mulliken, mo-canonical-lowdin, mo-canonical-iao, mo-pm-mulliken, mo-pm-lowdin, "
           "mo-pm-iao, mo-fb-mulliken, mo-fb-lowdin or mo-fb-iao")
GROUPS = ("heteroaromatic, aromatic, amide, ester, acid, aldehyde, ketone, nitrile, alkyne, amine, alcohol, ether, "
          "alkene, halide or alkane")
STRATEGY = f"unknown strategy 'adverserial'; choose {words(STRATEGIES)}"  # the loop's strategies, however many

BAD_VALUES = [
    (["select", "--strategy", "adverserial"], "--strategy", STRATEGY),
    (["select", "--level", "atoms"], "--level", "unknown level 'atoms'; choose molecule or atom"),
    (["select", "--classifier", "svm"], "--classifier", "unknown classifier 'svm'; choose auto, logistic or hgb"),
    (["loop", "--strategy", "adverserial"], "--strategy", STRATEGY),
    (["loop", "--level", "atoms"], "--level", "unknown level 'atoms'; choose molecule or atom"),
    (["loop", "--strategy", "targeted"], "--query", "strategy 'targeted' needs the tag of the molecules you want "
     "predicted"),
    (["loop", "--arch", "schnett"], "--architectures' / '--arch",
     "unknown architecture 'schnett'; choose schnet or nequip"),
    (["loop", "--target", "atomc"], "--target", "unknown target 'atomc'; choose total or atomic"),
    (["loop", "--validation", "kfold"], "--validation", "unknown validation 'kfold'; choose auto, holdout or k-fold"),
    (["loop", "--device", "gpu"], "--device", "unknown device 'gpu'; choose auto, cpu or cuda"),
    (["loop", "--schemes", "pm"], "--schemes", f"unknown scheme 'pm'; choose {SCHEMES}"),
    (["loop", "--task-runner", "slurm"], "--task-runner",
     "unknown task runner 'slurm'; choose process, thread or dask"),
    (["loop", "--initial", "1"], "--initial", "Input should be greater than or equal to 2"),
    (["demo", "--task-runner", "slurm"], "--task-runner",
     "unknown task runner 'slurm'; choose process, thread or dask"),
    (["label", "--scheme", "pm"], "--scheme' / '-s", f"unknown scheme 'pm'; choose {SCHEMES}"),
    (["label", "--device", "gpu"], "--device", "unknown device 'gpu'; choose auto, cpu or cuda"),
    (["label", "--task-runner", "thread"], "--task-runner", "unknown task runner 'thread'; choose process or dask"),
    (["train", "--arch", "schnett"], "--arch", "unknown architecture 'schnett'; choose schnet or nequip"),
    (["train", "--arch", "schnet", "--target", "energy"], "--target",
     "unknown target 'energy'; choose total or atomic"),
    (["train", "--arch", "schnet", "--validation", "cv"], "--validation",
     "unknown validation 'cv'; choose auto, holdout or k-fold"),
    (["train", "--arch", "schnet", "--device", "gpu"], "--device", "unknown device 'gpu'; choose auto, cpu or cuda"),
    (["train", "--arch", "schnet", "--hp", "layers"], "--hp", "expects KEY=VALUE, got 'layers'"),
    (["train", "--arch", "schnet", "--run", "r"], "--run", "needs --round INDEX"),
    (["tune", "--arch", "painn", "--trials", "1"], "--arch", "unknown architecture 'painn'; choose schnet or nequip"),
    (["tune", "--arch", "nequip", "--trials", "1", "--device", "gpu"], "--device",
     "unknown device 'gpu'; choose auto, cpu or cuda"),
    (["evaluate", "1", "--device", "auto"], "--device", "unknown device 'auto'; choose cpu or cuda"),
    (["study", "transferability", "--archs", "mace"], "--archs",
     "unknown architecture 'mace'; choose schnet or nequip"),
    (["study", "transferability", "--strategies", "greedy"], "--strategies",
     "unknown strategy 'greedy'; choose random, adversarial or committee"),
    (["study", "transferability", "--splits", "scaffold"], "--splits",
     "unknown split 'scaffold'; choose in-distribution, size-transfer, group-transfer or larger-molecules"),
    (["study", "transferability", "--targets", "atomic"], "--targets",
     "target 'atomic' needs a partition scheme, e.g. atomic:mo-pm-iao"),
    (["study", "transferability", "--targets", "atomic:pm"], "--targets",
     f"unknown partition scheme 'pm'; valid schemes: "
     f"{SCHEMES.replace(' or ', ', ')}"),
    (["study", "transferability", "--transfer-groups", "thiol"], "--transfer-groups",
     f"unknown functional group 'thiol'; choose {GROUPS}"),
    (["study", "transferability", "--device", "tpu"], "--device", "unknown device 'tpu'; choose auto, cpu or cuda"),
    (["report", "--out", "r.html"], "--study' / '--run", "give exactly one of them"),
    (["report", "--run", "r", "--out", "r.md"], "--out",
     "markdown (FILE.md) is written for studies; write a run's report as .html"),
]


def _usage(args: list[str], hint: str, message: str) -> str:
    """Click's line for a bad value of the option ``hint`` (quoted unless an argument's name)."""
    command = " ".join(["atomloop", *[a for a in args if not a.startswith("-")][:2 if args[0] == "study" else 1]])
    shown = hint if hint.isupper() else f"'{hint}'"
    return f"error: Invalid value for {shown}: {message} (see '{command} --help')\n"


@pytest.mark.parametrize(("args", "hint", "message"), BAD_VALUES, ids=[" ".join(case[0]) for case in BAD_VALUES])
def test_a_bad_option_value_is_one_line_and_exit_2(atomloop_home, atomloop, args, hint, message):
    assert atomloop(*args) == (EXIT_USAGE, "", _usage(args, hint, message))


@pytest.fixture
def run_r(engine) -> None:
    """Run ``r`` of one pool molecule, with its round 0."""
    from ase.build import molecule

    from atomloop.db import session_scope
    from atomloop.ingest import ingest_atoms
    from atomloop.store.runs import create_run
    from atomloop.store.selections import get_or_create_round

    pool = ingest_atoms([molecule("H2O")], source="test", engine=engine).molecule_ids
    with session_scope(engine) as session:
        get_or_create_round(session, create_run(session, "r", {}, {"pool": pool}), 0)


NAMES_NOTHING = [
    (["evaluate", "999"], "MODEL_ID", "no model with id 999"),
    (["export-model", "999", "--to", "exported"], "MODEL_ID", "no model with id 999"),
    (["train", "--arch", "schnet", "--run", "nope", "--round", "0"], "--run", "no run named 'nope'; runs: r"),
    (["train", "--arch", "schnet", "--run", "r", "--round", "5"], "--round", "no round 5 in run 'r'; rounds: 0"),
    (["tune", "--arch", "schnet", "--trials", "1", "--run", "nope", "--round", "0"], "--run",
     "no run named 'nope'; runs: r"),
    (["tune", "--arch", "schnet", "--trials", "1", "--round", "2"], "--round",
     "no round 2 in the rounds without a run; rounds: none"),
    (["report", "--run", "nope", "--out", "r.html"], "--run", "no run named 'nope'; runs: r"),
    (["report", "--study", "nope", "--out", "r.html"], "--study", "no study named 'nope'"),
    (["study", "basis-learnability", "--first", "a", "--second", "b"], "--first", "no study named 'a'"),
]


@pytest.mark.parametrize(("args", "hint", "message"), NAMES_NOTHING, ids=[" ".join(case[0]) for case in NAMES_NOTHING])
def test_an_id_or_name_that_names_nothing_is_a_usage_error(run_r, atomloop, tmp_path, monkeypatch, args, hint, message):
    monkeypatch.chdir(tmp_path)
    assert atomloop(*args) == (EXIT_USAGE, "", _usage(args, hint, message))
    assert list(tmp_path.iterdir()) == []  # nothing written


ATOMLOOP = Path(sys.executable).parent / "atomloop"


@pytest.mark.parametrize("args", [["train", "--arch", "schnett"], ["select", "--strategy", "adverserial"],
                                  ["loop", "--strategy", "adverserial"], ["evaluate", "999"]])
def test_the_console_script_refuses_in_under_2_seconds(database_url, args):
    started = time.perf_counter()
    result = subprocess.run([str(ATOMLOOP), *args], capture_output=True, text=True, timeout=60)
    seconds = time.perf_counter() - started
    assert (result.returncode, result.stdout, len(result.stderr.splitlines())) == (EXIT_USAGE, "", 1), result.stderr
    assert result.stderr.startswith("error: Invalid value for ")
    assert seconds < 2.0, f"{' '.join(args)}: {seconds:.2f} s"


def test_choices_are_words_and_case_does_not_matter():
    assert [words(names) for names in (("a",), ("a", "b"), ("a", "b", "c"))] == ["a", "a or b", "a, b or c"]
    assert ARCHITECTURE.parse("SchNet") == "schnet"
    assert ARCHITECTURE.metavar == "<name>"  # the choices are in the option's help (a wide metavar truncates names)
    assert "schnet" in ARCHITECTURE.describe("Architecture.") and "nequip" in ARCHITECTURE.describe("Architecture.")


def test_the_copied_names_match_their_heavy_modules():
    from atomloop.loop.tasks import TASK_RUNNERS as LOOP_TASK_RUNNERS
    from atomloop.models.training import DEVICES

    assert (TRAINING_DEVICES, TASK_RUNNERS) == (DEVICES, LOOP_TASK_RUNNERS)
