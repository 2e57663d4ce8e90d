"""A run from a file: ``atomloop loop --config run.yaml`` (options given on the command line win
over the file) and ``--dump-config`` (the effective configuration as YAML that ``--config`` reads
back to the same LoopConfig); a bad file is one line naming the file and the key, exit status 2,
found before torch, PySCF or Prefect are imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_output import one_error_line

from atomloop.cli import EXIT_USAGE
from atomloop.cli import loop as loop_command
from atomloop.cli.choices import words
from atomloop.cli.config_file import read_run_file
from atomloop.loop.config import STRATEGIES, LoopConfig

REPOSITORY = Path(__file__).resolve().parents[1]
ATOMLOOP = Path(sys.executable).with_name("atomloop")
HEAVY = ("torch", "sklearn", "pyscf", "sqlalchemy", "prefect", "rdkit", "ase", "nequip", "optuna")  # as test_packaging
HELP = "(see 'atomloop loop --help')"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def flow_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[LoopConfig, int, str]]:
    """The flow runs ``atomloop loop`` starts, recorded instead of run: (config, workers, task runner)."""
    runs = []
    monkeypatch.setattr(loop_command, "run_flow",
                        lambda config, workers, task_runner: runs.append((config, workers, task_runner)))
    return runs


def test_without_a_file_the_dump_is_the_options_over_the_defaults(atomloop_home, atomloop, flow_runs):
    status, out, err = atomloop("loop", "--dump-config")
    assert (status, err, flow_runs) == (0, "", [])
    assert out == LoopConfig().to_yaml()
    status, out, _ = atomloop("loop", "--k", "7", "--pool", "organic", "--arch", "schnet", "--no-stop-on-auc",
                              "--dump-config")
    assert status == 0 and flow_runs == []
    expected = LoopConfig(k=7, pool_tag="organic", architectures=("schnet",), stop_on_auc=False)
    assert LoopConfig.from_yaml(out) == expected


def test_the_dump_is_every_field_in_order_with_lists_readable_by_people():
    text = LoopConfig(schemes=("mo-pm-iao", "ao-eda"), max_wall_time=1e4, name="1e4").to_yaml()
    lines = text.splitlines()
    assert [line.split(":")[0] for line in lines] == list(LoopConfig.model_fields)
    assert "schemes: [mo-pm-iao, ao-eda]" in lines and "architectures: [schnet, nequip]" in lines
    assert "pool_tag: null" in lines and "stop_on_auc: true" in lines and "max_wall_time: 10000.0" in lines
    assert "name: '1e4'" in lines  # a string that reads as a number is quoted
    assert LoopConfig.from_yaml(text) == LoopConfig(schemes=("mo-pm-iao", "ao-eda"), max_wall_time=1e4, name="1e4")


def test_dump_file_dump_gives_the_identical_text_and_config(atomloop_home, atomloop, tmp_path):
    options = ["--pool", "organic", "--k", "5", "--rounds", "2", "--schemes", "mo-pm-iao", "--schemes", "ao-eda",
               "--strategy", "k-center", "--arch", "nequip", "--max-wall-time", "3600", "--no-stop-on-auc",
               "--name", "0012", "--seed", "3"]
    status, first, _ = atomloop("loop", *options, "--dump-config")
    assert status == 0
    run_file = _write(tmp_path / "run.yaml", first)
    status, second, err = atomloop("loop", "--config", str(run_file), "--dump-config")
    assert (status, err) == (0, "")
    assert second == first
    expected = LoopConfig(pool_tag="organic", k=5, rounds=2, schemes=("mo-pm-iao", "ao-eda"), strategy="k-center",
                          architectures=("nequip",), max_wall_time=3600.0, stop_on_auc=False, name="0012", seed=3)
    assert LoopConfig.from_yaml(second) == read_run_file(run_file) == expected
    assert read_run_file(run_file).run_name == expected.run_name == "0012"


def test_options_given_on_the_command_line_override_the_file(atomloop_home, atomloop, tmp_path):
    run_file = _write(tmp_path / "run.yaml", "k: 5\nrounds: 2\npool: organic\nschemes: [mo-pm-iao, ao-eda]\n"
                                             "stop_on_auc: false\nseed: 4\n")

    def effective(*options: str) -> LoopConfig:
        status, out, err = atomloop("loop", "--config", str(run_file), *options, "--dump-config")
        assert (status, err) == (0, ""), err
        return LoopConfig.from_yaml(out)

    from_file = LoopConfig(k=5, rounds=2, pool_tag="organic", schemes=("mo-pm-iao", "ao-eda"), stop_on_auc=False,
                           seed=4)
    assert effective() == from_file
    assert effective("--k", "7") == from_file.model_copy(update={"k": 7})  # the option wins; the rest is the file's
    assert effective("--k", "10") == from_file.model_copy(update={"k": 10})  # also when it equals the default
    assert effective("--stop-on-auc") == from_file.model_copy(update={"stop_on_auc": True})
    assert effective("--schemes", "ao-eda") == from_file.model_copy(update={"schemes": ("ao-eda",)})
    assert effective("--pool-tag", "g2", "--epochs", "5") == from_file.model_copy(update={"pool_tag": "g2",
                                                                                         "epochs": 5})


def test_the_flow_runs_on_the_file_with_the_options_over_it(atomloop_home, atomloop, tmp_path, flow_runs):
    run_file = _write(tmp_path / "run.yaml", "pool_tag: tiny\ninitial: 3\nk: 5\nrounds: 2\nepochs: 3\nname: tiny\n")
    status, _, err = atomloop("loop", "--config", str(run_file), "--k", "2", "--workers", "3",
                              "--task-runner", "thread")
    assert (status, err) == (0, "")
    assert flow_runs == [(LoopConfig(pool_tag="tiny", initial=3, k=2, rounds=2, epochs=3, name="tiny"), 3, "thread")]


def test_the_file_reads_the_aliases_choices_as_the_options_do_and_yaml_1_2_numbers(tmp_path):
    run_file = _write(tmp_path / "run.yaml", "pool: organic\narch: [SchNet]\nstrategy: Random\nmax_wall_time: 1e4\n"
                                             "plateau_tolerance: 0\n")
    assert read_run_file(run_file, loop_command.CHOICES) == LoopConfig(
        pool_tag="organic", architectures=("schnet",), strategy="random", max_wall_time=10000.0, plateau_tolerance=0.0
    )
    assert read_run_file(_write(tmp_path / "empty.yaml", "# nothing but a comment\n")) == LoopConfig()


def test_the_example_run_file_of_deploy_parses(atomloop_home, atomloop):
    example = REPOSITORY / "deploy" / "run.yaml"
    config = read_run_file(example, loop_command.CHOICES)
    assert (config.pool_tag, config.k, config.schemes, config.max_wall_time) == ("organic", 10, ("mo-pm-iao",), 43200.0)
    status, out, err = atomloop("loop", "--config", str(example), "--dump-config")
    assert (status, err) == (0, "") and LoopConfig.from_yaml(out) == config


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("kk: 5\n", ": unknown key 'kk'; did you mean 'k'?"),
        ("test-size: 5\n", ": unknown key 'test-size'; did you mean 'test_size'?"),
        ("colour: blue\n", ": unknown key 'colour'; --dump-config lists the keys"),
        ("workers: 4\n", ": unknown key 'workers'; workers is no field of the run: give --workers on the command line"),
        ("pool: a\npool_tag: b\n", ": the keys 'pool' and 'pool_tag' both set pool_tag"),
        ("k: five\n", ", key 'k': Input should be a valid integer"),
        ("k: '5'\n", ", key 'k': Input should be a valid integer"),
        ("k: 5.5\n", ", key 'k': Input should be a valid integer"),
        ("k: 0\n", ", key 'k': Input should be greater than or equal to 1"),
        ("stop_on_auc: 1\n", ", key 'stop_on_auc': Input should be a valid boolean"),
        ("name: 12\n", ", key 'name': Input should be a valid string"),
        ("schemes: mo-pm-iao\n", ", key 'schemes': Input should be a valid array"),
        ("schemes: []\n", ", key 'schemes': Tuple should have at least 1 item after validation, not 0"),
        ("strategy: adverserial\n", f", key 'strategy': unknown strategy 'adverserial'; choose {words(STRATEGIES)}"),
        ("arch: [schnet, schnett]\n", ", key 'arch': unknown architecture 'schnett'; choose schnet or nequip"),
        ("device: gpu\n", ", key 'device': unknown device 'gpu'; choose auto, cpu or cuda"),
        ("k: [1, 2\n", ": not YAML: expected ',' or ']', but got '<stream end>' (line 2, column 1)"),
        ("k: 1\nk: 2\n", ": not YAML: the key 'k' is given twice (line 2, column 1)"),
        ("k: 5\n\tk: 6\n", ": not YAML: found character '\\t' that cannot start any token (line 2, column 1)"),
        ("- k: 5\n", ": not a YAML mapping of keys to values (found a list)"),
        ("print('hello')\n", ": not a YAML mapping of keys to values (found a string)"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_file_and_the_key(atomloop_home, atomloop, tmp_path, flow_runs, text, detail):
    run_file = _write(tmp_path / "run.yaml", text)
    status, out, err = atomloop("loop", "--config", str(run_file))
    assert (status, out, flow_runs) == (EXIT_USAGE, "", [])
    assert one_error_line(err) == f"error: Invalid value for '--config': {run_file}{detail} {HELP}"


def test_a_missing_unreadable_or_binary_file_is_one_line(atomloop_home, atomloop, tmp_path, flow_runs):
    binary = tmp_path / "run.bin"
    binary.write_bytes(b"\xff\xfe\x00k: 5")
    for path, detail in [(tmp_path / "missing.yaml", "no such file"), (tmp_path, "a directory, not a file"),
                         (binary, "not YAML (not UTF-8 text)")]:
        status, out, err = atomloop("loop", "--config", str(path), "--dump-config")
        assert (status, out) == (EXIT_USAGE, "")
        assert one_error_line(err) == f"error: Invalid value for '--config': {path}: {detail} {HELP}"
    assert flow_runs == []


def _console(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    """``atomloop ARGS`` as users run it, and the heavy libraries it imported (Python's import log)."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    result = subprocess.run([str(ATOMLOOP), *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env)
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    return result, sorted(m for m in imported if m.split(".")[0] in HEAVY)


def test_the_console_script_dumps_and_refuses_without_importing_the_heavy_libraries(atomloop_home, tmp_path):
    _write(tmp_path / "run.yaml", "k: 5\n")
    _write(tmp_path / "bad.yaml", "k: 5\nepochs: many\n")
    dumped, heavy = _console("loop", "--config", "run.yaml", "--rounds", "1", "--dump-config", cwd=tmp_path)
    assert (dumped.returncode, heavy) == (0, [])
    assert LoopConfig.from_yaml(dumped.stdout) == LoopConfig(k=5, rounds=1)
    refused, heavy = _console("loop", "--config", "bad.yaml", cwd=tmp_path)
    assert (refused.returncode, refused.stdout, heavy) == (EXIT_USAGE, "", [])
    errors = [line for line in refused.stderr.splitlines() if not line.startswith("import time:")]
    assert errors == [f"error: Invalid value for '--config': bad.yaml, key 'epochs': Input should be a valid integer "
                      f"{HELP}"]
