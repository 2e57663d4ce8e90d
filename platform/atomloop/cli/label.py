"""``atomloop label``: PySCF labels (total and atomic energies) for molecules in the store."""

from __future__ import annotations

import typer

from atomloop.cli.choices import LABEL_DEVICE, LABEL_TASK_RUNNER, SCHEME
from atomloop.labelling.limits import ResourceLimits


def label(
    method: str = typer.Option("hf", help="'hf' or a PySCF/libxc functional (b3lyp, pbe0, wb97x, ...)."),
    basis: str = typer.Option("sto-3g", help="Any PySCF basis (sto-3g, 6-31g*, def2-svp, ...)."),
    scheme: list[str] = SCHEME.option(["mo-pm-iao", "ao-eda"], "--scheme", "-s", help="Partition scheme (repeatable)."),
    limit: int | None = typer.Option(None, min=1, help="Label at most this many molecules."),
    where: str | None = typer.Option(None, "--where", help="Only molecules with this tag."),
    workers: int = typer.Option(1, min=1, help="Worker processes (with --task-runner process)."),
    task_runner: str = LABEL_TASK_RUNNER.option(
        "process", "--task-runner", help="process: worker processes here; dask: tasks on the Dask scheduler at "
        "ATOMLOOP_DASK_ADDRESS (workers started apart, see deploy/README.md).",
    ),
    threads: int = typer.Option(1, min=1, help="PySCF/BLAS threads per worker."),
    device: str = LABEL_DEVICE.option("auto", "--device", help="Where the SCFs run (auto: a CUDA GPU when one and "
                                      "gpu4pyscf are present; cuda needs pip install 'atomloop[gpu]'). With "
                                      "--task-runner dask, on each worker's machine."),
    grid_level: int = typer.Option(3, min=0, max=9, help="DFT grid level (0-9)."),
    density_fit: bool = typer.Option(False, "--density-fit", help="Density-fitted J/K."),
    atomization: bool = typer.Option(False, "--atomization", help="Also store E_A minus free-atom energies."),
    conv_tol: float = typer.Option(1e-10, help="SCF energy convergence (Hartree)."),
    max_atoms: int = typer.Option(ResourceLimits.max_atoms, min=1, help="Refuse larger molecules."),
    max_basis_functions: int = typer.Option(ResourceLimits.max_basis_functions, min=1, help="Refuse larger bases."),
    max_memory_mb: float = typer.Option(ResourceLimits.max_memory_mb, help="Refuse above this estimated memory."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run failed or refused calculations again."),
) -> None:
    """Label molecules without a finished calculation at these settings (resumable, idempotent)."""
    import os

    from atomloop.db.connect import store_held_open
    from atomloop.errors import AtomloopError, InputError
    from atomloop.labelling.runner import label_molecules
    from atomloop.qm.device import check_label_device, resolve_label_device
    from atomloop.qm.settings import QMSettings

    try:  # before any work; a Dask worker resolves the device on its own machine
        device = check_label_device(device) if task_runner == "dask" else resolve_label_device(device)
    except AtomloopError as error:
        raise typer.BadParameter(str(error), param_hint="'--device'") from None
    settings = QMSettings(
        method=method, basis=basis, schemes=tuple(scheme), grid_level=grid_level, density_fit=density_fit,
        atomization=atomization, conv_tol=conv_tol,
    )
    limits = ResourceLimits(max_atoms=max_atoms, max_basis_functions=max_basis_functions, max_memory_mb=max_memory_mb)
    address = os.environ.get("ATOMLOOP_DASK_ADDRESS") if task_runner == "dask" else None
    if task_runner == "dask" and not address:
        raise InputError("--task-runner dask needs the scheduler's address in ATOMLOOP_DASK_ADDRESS (tcp://host:8786)")
    with store_held_open():
        report = label_molecules(
            settings, tag=where, limit=limit, workers=workers, threads=threads, limits=limits,
            retry_failed=retry_failed, dask_address=address, device=device,
        )
    typer.echo(report.summary())


def register(app: typer.Typer) -> None:
    app.command()(label)
