"""Dask clusters for labelling: worker processes on this host, or worker jobs on Slurm.

Both give the scheduler address (``tcp://host:port``) that ``label_molecules(...,
dask_address=ADDRESS)`` and the loop (``ATOMLOOP_DASK_ADDRESS=ADDRESS atomloop loop --task-runner
dask``) connect to.

* :func:`dask_processes`: ``dask scheduler`` and ``dask worker`` as separate processes on this
  host, exactly the commands of a multi-machine cluster (see ``deploy/README.md``).
* :func:`read_slurm_config` and :func:`slurm_cluster`: a ``dask_jobqueue.SLURMCluster`` from a
  TOML file (``deploy/slurm.toml`` documents every key); ``python -m atomloop.labelling.cluster
  slurm CONFIG.toml`` submits its worker jobs, prints ``ATOMLOOP_DASK_ADDRESS=...`` and keeps the
  scheduler running until Ctrl-C. Needs ``pip install 'atomloop[slurm]'`` (dask-jobqueue), imported
  only when a Slurm cluster is built.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atomloop.errors import InputError

if TYPE_CHECKING:
    from dask_jobqueue import SLURMCluster

DASK = Path(sys.executable).with_name("dask")
DEFAULT_PORT = 8786
# One BLAS/OpenMP thread per worker process: PySCF labelling runs one SCF per worker.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def stop_process_group(process: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """SIGKILL the process group that ``process`` leads (started with ``start_new_session``) and reap it."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=timeout_s)


def wait_for_workers(address: str, workers: int, timeout_s: float) -> None:
    """Block until the scheduler at ``address`` has ``workers`` workers (at most ``timeout_s`` seconds)."""
    from distributed import Client

    with Client(address, timeout=f"{timeout_s}s") as client:
        client.wait_for_workers(workers, timeout=timeout_s)


@contextmanager
def dask_processes(workers: int, directory: Path, *, host: str = "127.0.0.1", timeout_s: float = 90.0) -> Iterator[str]:
    """``tcp://HOST:PORT`` of a ``dask scheduler`` with ``workers`` single-threaded ``dask worker``
    processes (each under a nanny that restarts it), all started here as separate process
    groups and all killed on exit; ``directory`` holds the scheduler file. Waits at most
    ``timeout_s`` seconds for the workers."""
    scheduler_file = directory / "scheduler.json"
    port = free_port(host)
    # no daemonic worker processes: a task may start processes of its own
    environment = {**os.environ, **ONE_THREAD, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    common: dict[str, Any] = dict(env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
    scheduler = [str(DASK), "scheduler", "--host", host, "--port", str(port), "--no-dashboard",
                 "--scheduler-file", str(scheduler_file)]
    worker = [str(DASK), "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "1", "--nthreads", "1",
              "--no-dashboard", "--memory-limit", "0"]
    processes = [subprocess.Popen(scheduler, **common)]
    try:
        processes += [subprocess.Popen(worker, **common) for _ in range(workers)]
        address = f"tcp://{host}:{port}"
        wait_for_workers(address, workers, timeout_s)
        yield address
    finally:
        for process in reversed(processes):
            stop_process_group(process)


@dataclass(frozen=True)
class SlurmConfig:
    """Worker jobs of a Slurm cluster (``deploy/slurm.toml`` documents each field)."""

    queue: str | None = None  # partition (#SBATCH -p)
    account: str | None = None  # #SBATCH -A
    jobs: int = 1  # Slurm jobs to submit
    cores: int = 1  # CPUs per job (#SBATCH --cpus-per-task)
    processes: int = 1  # Dask worker processes per job, each of cores/processes threads
    memory: str = "4GB"  # per job (#SBATCH --mem), shared by its worker processes
    walltime: str = "01:00:00"  # per job (#SBATCH -t), HH:MM:SS
    job_name: str = "atomloop-label"  # #SBATCH -J
    job_extra_directives: tuple[str, ...] = ()  # more #SBATCH options, e.g. "--qos=normal"
    prologue: tuple[str, ...] = ()  # shell lines run before the worker, e.g. "module load ..."
    environment: Mapping[str, str] = field(default_factory=dict)  # exported before the worker starts
    pass_environment: tuple[str, ...] = ()  # names exported with their values here (secrets stay out of the file)
    python: str | None = None  # the workers' Python with atomloop installed (default: this one)
    interface: str | None = None  # network interface of scheduler and workers, e.g. "ib0"
    scheduler_host: str | None = None  # address the scheduler listens on (default: all interfaces)
    scheduler_port: int = DEFAULT_PORT
    log_directory: str | None = None  # where Slurm writes the jobs' output
    local_directory: str | None = None  # workers' scratch, e.g. "$TMPDIR"

    def worker_environment(self, environ: Mapping[str, str]) -> dict[str, str]:
        """What each worker's job exports: one thread per process unless ``environment`` says
        otherwise, and the ``pass_environment`` variables with their values in ``environ``."""
        if missing := [name for name in self.pass_environment if name not in environ]:
            raise InputError(f"pass_environment names variables that are not set here: {', '.join(missing)}")
        return {**ONE_THREAD, **self.environment, **{name: environ[name] for name in self.pass_environment}}


def read_slurm_config(path: Path) -> SlurmConfig:
    """The ``[slurm]`` table of the TOML file at ``path``; unknown keys are an ``InputError``."""
    try:
        table = tomllib.loads(path.read_text())["slurm"]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as error:
        raise InputError(f"{path}: not a TOML file with a [slurm] table ({error})") from None
    known = {f.name for f in fields(SlurmConfig)}
    if unknown := sorted(set(table) - known):
        raise InputError(f"{path}: unknown [slurm] keys {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    values = dict(table)
    for key in ("job_extra_directives", "prologue", "pass_environment"):
        values[key] = tuple(values.get(key, ()))
    values["environment"] = {str(k): str(v) for k, v in values.get("environment", {}).items()}
    return SlurmConfig(**values)


def slurm_cluster(config: SlurmConfig) -> SLURMCluster:
    """A ``SLURMCluster`` (scheduler started in this process, no job submitted yet) for ``config``."""
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError:
        raise InputError("Slurm clusters need dask-jobqueue: pip install 'atomloop[slurm]'") from None
    exports = [f"export {name}={shlex.quote(value)}" for name, value in config.worker_environment(os.environ).items()]
    scheduler_options: dict[str, Any] = {"port": config.scheduler_port, "dashboard_address": None}
    if config.scheduler_host is not None:
        scheduler_options["host"] = config.scheduler_host
    return SLURMCluster(
        queue=config.queue, account=config.account, cores=config.cores, processes=config.processes,
        memory=config.memory, walltime=config.walltime, job_name=config.job_name,
        job_extra_directives=list(config.job_extra_directives),
        job_script_prologue=[*config.prologue, *exports], python=config.python or sys.executable,
        interface=config.interface, log_directory=config.log_directory, local_directory=config.local_directory,
        scheduler_options=scheduler_options,
    )


def _serve_slurm(path: Path, *, print_job_script: bool) -> None:
    """Build the cluster of the config at ``path``, submit its jobs, print the address, wait for Ctrl-C."""
    config = read_slurm_config(path)
    with slurm_cluster(config) as cluster:
        if print_job_script:
            print(cluster.job_script())
            return
        cluster.scale(jobs=config.jobs)
        print(f"ATOMLOOP_DASK_ADDRESS={cluster.scheduler_address}", flush=True)
        print(f"{config.jobs} Slurm job(s) of {config.processes} worker(s) submitted; Ctrl-C stops the scheduler "
              "and cancels them", file=sys.stderr, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


def main(argv: list[str] | None = None) -> None:
    """``python -m atomloop.labelling.cluster slurm CONFIG.toml [--print-job-script]``."""
    parser = argparse.ArgumentParser(prog="python -m atomloop.labelling.cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    slurm = commands.add_parser("slurm", help="run a Dask scheduler here with worker jobs on Slurm")
    slurm.add_argument("config", type=Path, help="TOML file with a [slurm] table (see deploy/slurm.toml)")
    slurm.add_argument("--print-job-script", action="store_true", help="print the worker job script and exit")
    args = parser.parse_args(argv)
    try:
        _serve_slurm(args.config, print_job_script=args.print_job_script)
    except InputError as error:
        parser.exit(2, f"error: {error}\n")


if __name__ == "__main__":
    main()
