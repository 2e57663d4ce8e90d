"""The Slurm example of ``deploy/``: the worker job script that ``dask_jobqueue.SLURMCluster``
generates from ``deploy/slurm.toml`` (no Slurm here: the scheduler starts, no job is submitted)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from atomloop.errors import InputError
from atomloop.labelling.cluster import SlurmConfig, read_slurm_config, slurm_cluster

EXAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "slurm.toml"
SECRETS = {"ATOMLOOP_DATABASE_URL": "postgresql+psycopg://atomloop:s3cret@db.cluster:5432/atomloop",
           "PREFECT_API_URL": "http://prefect.cluster:4200/api"}


def _local(config: SlurmConfig, tmp_path: Path) -> SlurmConfig:
    """The example as it can run here: scheduler on a free local port, logs in ``tmp_path``."""
    return replace(config, scheduler_host="127.0.0.1", scheduler_port=0, log_directory=str(tmp_path / "logs"))


@pytest.mark.timeout(120)
def test_the_job_script_carries_the_config_and_starts_a_worker_on_the_scheduler(tmp_path, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    config = read_slurm_config(EXAMPLE)
    assert (config.queue, config.cores, config.processes, config.walltime) == ("compute", 8, 8, "04:00:00")
    with slurm_cluster(_local(config, tmp_path)) as cluster:
        script, address = cluster.job_script(), cluster.scheduler_address
    lines = script.splitlines()
    for directive in ("-p compute", "-A chem-qm", "--cpus-per-task=8", "--mem=30G", "-t 04:00:00",
                      "-J atomloop-label", "--qos=normal", "--constraint=avx2"):
        assert f"#SBATCH {directive}" in lines
    assert "module load gcc/13" in lines and "source /shared/atomloop/.venv/bin/activate" in lines
    for name, value in {**SECRETS, "ATOMLOOP_HOME": "/shared/atomloop/home", "OMP_NUM_THREADS": "1"}.items():
        assert f"export {name}={value}" in lines
    (command,) = [line for line in lines if "distributed.cli.dask_worker" in line]
    assert command.startswith("/shared/atomloop/.venv/bin/python -m distributed.cli.dask_worker ")
    assert address.startswith("tcp://127.0.0.1:") and f" {address} " in command
    assert "--nthreads 1 " in command and "--local-directory $TMPDIR" in command
    assert command.count("--nthreads") == 1


@pytest.mark.timeout(60)
def test_a_variable_to_pass_that_is_not_set_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("ATOMLOOP_DATABASE_URL", SECRETS["ATOMLOOP_DATABASE_URL"])
    with pytest.raises(InputError, match="not set here: PREFECT_API_URL"):
        slurm_cluster(_local(read_slurm_config(EXAMPLE), tmp_path))


@pytest.mark.timeout(60)
def test_an_unknown_key_is_named(tmp_path):
    path = tmp_path / "slurm.toml"
    path.write_text('[slurm]\ncores = 2\npartition = "short"\n')
    with pytest.raises(InputError, match="unknown \\[slurm\\] keys partition"):
        read_slurm_config(path)


@pytest.mark.timeout(120)
def test_the_command_prints_the_job_script(tmp_path):
    path = tmp_path / "slurm.toml"
    path.write_text(f'[slurm]\nqueue = "short"\ncores = 2\nprocesses = 2\nmemory = "2GB"\nwalltime = "00:10:00"\n'
                    f'scheduler_host = "127.0.0.1"\nscheduler_port = 0\nlog_directory = "{tmp_path / "logs"}"\n')
    shown = subprocess.run([sys.executable, "-m", "atomloop.labelling.cluster", "slurm", str(path), "--print-job-script"],
                           capture_output=True, text=True, timeout=100)
    assert shown.returncode == 0, shown.stderr
    assert "#SBATCH -p short" in shown.stdout and "#SBATCH -t 00:10:00" in shown.stdout
    assert "-m distributed.cli.dask_worker tcp://127.0.0.1:" in shown.stdout and "--nthreads 1 " in shown.stdout
