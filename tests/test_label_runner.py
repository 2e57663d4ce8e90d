"""Labelling against a real PostgreSQL store with real PySCF (atomloop.labelling, ``atomloop label``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from ase.build import molecule
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from atomloop.errors import InputError
from atomloop.ingest import ingest_atoms
from atomloop.labelling import ResourceLimits, label_molecules
from atomloop.labelling.worker import worker_pid
from atomloop.qm import QMSettings, compute
from atomloop.store.molecules import molecule_to_atoms
from atomloop.store.tables import AtomicEnergy, Calculation, CalculationStatus

SETTINGS = QMSettings(method="hf", basis="sto-3g", schemes=("ao-eda", "mo-pm-iao"))
SMALL = ("H2O", "NH3", "CH4", "HF", "H2O2", "CH3OH")


def _ingest(names, tags=("small",)):
    return ingest_atoms([molecule(n) for n in names], source="test", tags=tags).molecule_ids


def _calculations(engine) -> list[Calculation]:
    with Session(engine) as session:
        return list(session.scalars(select(Calculation).order_by(Calculation.molecule_id)))


def _atomic_rows(engine, calculation_id) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).where(AtomicEnergy.calculation_id == calculation_id))


def test_label_stores_energies_and_is_idempotent(engine):
    ids = _ingest(SMALL[:3])
    report = label_molecules(SETTINGS, engine=engine, progress=False)
    assert (report.requested, report.done, report.failed, report.remaining) == (3, 3, 0, 0)
    rows = _calculations(engine)
    assert [r.molecule_id for r in rows] == ids
    water = rows[0]
    assert water.status == CalculationStatus.done and water.converged and water.attempts == 1
    assert water.settings_hash == SETTINGS.settings_hash and water.settings == SETTINGS.scf_settings()
    assert water.program_version.startswith("2.") and water.wall_time > 0
    assert water.scf_info["strategy"] == "diis" and "scf" in water.scf_info["timings"]
    with Session(engine) as session:
        stored = session.scalars(
            select(AtomicEnergy).where(AtomicEnergy.calculation_id == water.id).order_by(AtomicEnergy.scheme, AtomicEnergy.atom_index)
        ).all()
        atoms = molecule_to_atoms(session.get(Calculation, water.id).molecule)
    assert len(stored) == 2 * 3
    expected = compute(atoms, SETTINGS)
    for scheme in SETTINGS.schemes:
        values = np.array([row.energy for row in stored if row.scheme == scheme])
        np.testing.assert_allclose(values, expected.atomic_energies[scheme], atol=1e-7)
        assert values.sum() == pytest.approx(water.total_energy, abs=1e-8)
        kinetic = np.array([row.kinetic for row in stored if row.scheme == scheme])
        np.testing.assert_allclose(kinetic, expected.terms[scheme]["kinetic"], atol=1e-6)
    again = label_molecules(SETTINGS, engine=engine, progress=False)
    assert again.requested == 0 and len(_calculations(engine)) == 3
    # another SCF level is a new calculation, never an overwrite
    other = QMSettings(method="hf", basis="3-21g", schemes=("ao-eda",))
    assert label_molecules(other, engine=engine, molecule_ids=ids[:1], progress=False).done == 1
    assert len(_calculations(engine)) == 4


def test_a_scheme_added_to_labelled_molecules_runs_no_scf_and_equals_a_fresh_calculation(engine):
    """One calculation is one SCF: the same level with other schemes (or another spelling of the
    basis) derives the new schemes from the kept orbitals."""
    ids = _ingest(["H2O", "CH4", "OH"])
    label_molecules(QMSettings(basis="sto-3g", schemes=("ao-eda",)), engine=engine, progress=False)
    before = {c.id: (c.finished, c.scf_info["timings"]["scf"]) for c in _calculations(engine)}
    more = QMSettings(basis="STO3G", schemes=("ao-eda", "mo-pm-iao", "mo-fb-lowdin"), atomization=True)
    report = label_molecules(more, engine=engine, progress=False)
    assert (report.requested, report.derived) == (0, 3)
    rows = _calculations(engine)
    assert {c.id: (c.finished, c.scf_info["timings"]["scf"]) for c in rows} == before  # no SCF ran again
    # ao-eda is not partitioned again: its rows only lacked the atomization values, which come
    # from the free atoms' energies
    assert all(set(c.scf_info["derived"]) == {"mo-fb-lowdin", "mo-pm-iao"} for c in rows)
    with Session(engine) as session:
        for calculation in rows:
            atoms = molecule_to_atoms(session.get(Calculation, calculation.id).molecule)
            fresh = compute(atoms, more)
            stored = session.scalars(select(AtomicEnergy).where(AtomicEnergy.calculation_id == calculation.id)).all()
            for scheme in more.schemes:
                values = np.array([r.energy for r in sorted(stored, key=lambda r: r.atom_index) if r.scheme == scheme])
                atomization = [r.atomization for r in sorted(stored, key=lambda r: r.atom_index) if r.scheme == scheme]
                # same SCF convergence thresholds, so agreement is set by the converged SCF (1e-10 Ha here)
                np.testing.assert_allclose(values, fresh.atomic_energies[scheme], atol=1e-9)
                assert None not in atomization
                np.testing.assert_allclose(atomization, fresh.atomization[scheme], atol=1e-9)
    assert label_molecules(more, engine=engine, molecule_ids=ids, progress=False).derived == 0
    # what the loop asks for at this level (one training scheme) is there already: nothing runs
    loop_level = QMSettings(basis="sto-3g", schemes=("mo-pm-iao",))
    again = label_molecules(loop_level, engine=engine, molecule_ids=ids, progress=False)
    assert (again.requested, again.derived) == (0, 0)


def test_orbitals_kept_without_operator_blocks_gain_them_when_a_scheme_is_added(engine):
    """A store from before the operator blocks (orbital format v1) needs no migration: the first
    scheme added rebuilds the blocks from the kept orbitals (no SCF) and keeps them."""
    from dataclasses import replace

    from atomloop.qm.orbitals import FORMAT, OccupiedOrbitals, checksum
    from atomloop.store.tables import ScfSolution

    _ingest(["H2O"])
    label_molecules(QMSettings(basis="sto-3g", schemes=("ao-eda",)), engine=engine, progress=False)
    (water,) = _calculations(engine)
    with Session(engine) as session:
        solution = session.get(ScfSolution, water.id)
        version_1 = replace(OccupiedOrbitals.from_bytes(solution.data), operators=None).to_bytes()
        solution.format, solution.data, solution.sha256 = "npz-occupied-v1", version_1, checksum(version_1)
        session.commit()
    report = label_molecules(QMSettings(basis="sto-3g", schemes=("mo-pm-iao",)), engine=engine, progress=False)
    assert (report.requested, report.derived) == (0, 1)
    with Session(engine) as session:
        solution = session.get(ScfSolution, water.id)
        assert solution.format == FORMAT and OccupiedOrbitals.from_bytes(solution.data).operators is not None
        assert checksum(solution.data) == solution.sha256
    assert _calculations(engine)[0].scf_info["timings"]["scf"] == water.scf_info["timings"]["scf"]  # no SCF ran


def test_an_unknown_tag_is_an_error_not_zero_labels(engine):
    _ingest(["H2O"], tags=("mine",))
    with pytest.raises(InputError, match="no molecules are tagged 'typo'"):
        label_molecules(SETTINGS, engine=engine, tag="typo", progress=False)


def test_tag_limit_and_explicit_ids(engine):
    _ingest(SMALL[:2], tags=("first",))
    second = _ingest(SMALL[2:4], tags=("second",))
    report = label_molecules(SETTINGS, engine=engine, tag="second", limit=1, progress=False)
    assert report.done == 1 and [c.molecule_id for c in _calculations(engine)] == second[:1]
    report = label_molecules(SETTINGS, engine=engine, molecule_ids=second, progress=False)
    assert report.requested == 1 and report.done == 1


def test_failures_and_refusals_are_recorded(engine):
    ids = _ingest(["H2O", "C6H6"])
    limits = ResourceLimits(max_atoms=6)
    failing = QMSettings(method="hf", basis="6-31g", schemes=("ao-eda",), max_cycle=1, conv_tol=1e-13)
    report = label_molecules(failing, engine=engine, limits=limits, progress=False)
    assert (report.done, report.failed, report.refused) == (0, 1, 1)
    water, benzene = _calculations(engine)
    assert water.status == CalculationStatus.failed and water.reason.startswith("SCFConvergenceError: SCF of H2O")
    assert benzene.status == CalculationStatus.failed and benzene.reason == "refused: 12 atoms > max_atoms 6"
    assert _atomic_rows(engine, water.id) == 0
    # failed work is not retried by default, and is with retry_failed
    assert label_molecules(failing, engine=engine, limits=limits, progress=False).requested == 0
    retried = label_molecules(failing, engine=engine, molecule_ids=ids[1:], retry_failed=True,
                              limits=ResourceLimits(max_basis_functions=40), progress=False)
    assert retried.refused == 1
    assert _calculations(engine)[1].reason == "refused: 66 basis functions in 6-31g > max_basis_functions 40"
    assert _calculations(engine)[1].attempts == 2
    label_molecules(failing, engine=engine, molecule_ids=ids[1:], retry_failed=True,
                    limits=ResourceLimits(max_memory_mb=1), progress=False)
    benzene = _calculations(engine)[1]
    assert benzene.reason.startswith("refused: estimated ") and benzene.reason.endswith(" MB > max_memory_mb 1")


def test_stale_heartbeat_is_reclaimed_but_live_foreign_worker_is_not(engine):
    _ingest(SMALL[:2])
    with Session(engine) as session, session.begin():
        from atomloop.store.queue import pending_molecule_ids, queue_calculations

        ids = queue_calculations(session, SETTINGS, pending_molecule_ids(session, SETTINGS.settings_hash))
        session.execute(update(Calculation).where(Calculation.id == ids[0]).values(
            status=CalculationStatus.running, worker="elsewhere:1", heartbeat=func.now() - func.make_interval(0, 0, 0, 0, 1), attempts=1))
        session.execute(update(Calculation).where(Calculation.id == ids[1]).values(
            status=CalculationStatus.running, worker="elsewhere:2", heartbeat=func.now(), attempts=1))
    report = label_molecules(SETTINGS, engine=engine, stale_after_s=60, progress=False)
    assert (report.reclaimed, report.done, report.remaining) == (1, 1, 1)
    stale, live = _calculations(engine)
    assert stale.status == CalculationStatus.done and stale.attempts == 2
    assert live.status == CalculationStatus.running and live.worker == "elsewhere:2"


def test_parallel_workers(engine):
    ids = _ingest(SMALL[:4])
    report = label_molecules(SETTINGS, engine=engine, workers=2, progress=False)
    assert (report.done, report.failed) == (4, 0)
    workers = {c.worker for c in _calculations(engine)}
    assert all(w.split(":")[1] != str(os.getpid()) for w in workers)
    assert [c.molecule_id for c in _calculations(engine)] == ids


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from atomloop.cli import main; main()", *args]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_minus_nine_then_rerun(engine, database_url, workers):
    """SIGKILL the ``atomloop label`` process mid-run (its worker processes die with it), rerun."""
    names = ("C6H6", "CH3OH", "C2H6", "CH3CHO", "CH3CH2OH", "CH3COOH", "C3H8", "C4H4O")
    _ingest(names)
    args = _cli("label", "--method", "hf", "--basis", "6-31g", "--scheme", "ao-eda", "--scheme", "mo-fb-iao",
                "--scheme", "mo-pm-iao", "--workers", str(workers))
    env = {**os.environ, "ATOMLOOP_DATABASE_URL": database_url, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            statuses = [c.status for c in _calculations(engine)]
            if statuses.count(CalculationStatus.done) >= 2 and CalculationStatus.running in statuses:
                break
            assert process.poll() is None, "label finished before it could be killed"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    before = {c.id: c for c in _calculations(engine)}
    finished = {i: c.finished for i, c in before.items() if c.status == CalculationStatus.done}
    interrupted = [i for i, c in before.items() if c.status == CalculationStatus.running]
    assert len(finished) >= 2 and 1 <= len(interrupted) <= workers
    assert all(_atomic_rows(engine, i) == 0 for i in interrupted)
    worker_pids = [worker_pid(before[i].worker) for i in interrupted]
    deadline = time.monotonic() + 10
    while any(_pid_alive(pid) for pid in worker_pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_pid_alive(pid) for pid in worker_pids), "worker processes outlived their parent"

    rerun = subprocess.run([*args], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(interrupted)} interrupted calculations redone" in rerun.stdout
    after = _calculations(engine)
    assert len(after) == len(names) and len({c.molecule_id for c in after}) == len(names)
    assert all(c.status == CalculationStatus.done for c in after)
    for calculation in after:
        if calculation.id in finished:
            assert calculation.finished == finished[calculation.id] and calculation.attempts == 1
    by_id = {c.id: c for c in after}
    assert all(by_id[i].attempts == 2 for i in interrupted)
    with Session(engine) as session:
        for calculation in after:
            natoms = session.get(Calculation, calculation.id).molecule.natoms
            assert _atomic_rows(engine, calculation.id) == 3 * natoms


def test_cli_rejects_unknown_scheme_and_prints_summary(engine, database_url):
    _ingest(["H2O"])
    env = {**os.environ, "ATOMLOOP_DATABASE_URL": database_url, "OMP_NUM_THREADS": "1"}
    bad = subprocess.run(_cli("label", "--scheme", "mo-xx-iao"), env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2  # a usage error, checked while parsing
    assert "unknown scheme 'mo-xx-iao'; choose ao-eda, mo-canonical-mulliken" in bad.stderr
    good = subprocess.run(_cli("label", "--scheme", "ao-eda", "--where", "small"), env=env, capture_output=True,
                          text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("labelled 1 molecules in ") and "1 done, 0 failed, 0 refused" in good.stdout


def test_atomization_and_terms_are_stored(engine):
    _ingest(["H2O"])
    settings = QMSettings(method="b3lyp", basis="sto-3g", schemes=("ao-eda",), grid_level=1, atomization=True)
    report = label_molecules(settings, engine=engine, progress=False)
    (calculation,) = _calculations(engine)
    assert report.done == 1, calculation.reason
    free = calculation.scf_info["free_atom_energies"]
    assert set(free) == {"1", "8"}
    with Session(engine) as session:
        rows = session.scalars(select(AtomicEnergy).order_by(AtomicEnergy.atom_index)).all()
    assert [r.atomic_number for r in rows] == [8, 1, 1]
    references = np.array([free[str(r.atomic_number)] for r in rows])
    atomization = np.array([r.atomization for r in rows])
    np.testing.assert_allclose(atomization, [r.energy for r in rows] - references, atol=1e-10)
    assert atomization.sum() == pytest.approx(calculation.total_energy - references.sum(), abs=1e-8)
    for row in rows:
        parts = row.kinetic + row.nuclear_attraction + row.coulomb + row.exchange + row.xc + row.nuclear_repulsion
        assert parts == pytest.approx(row.energy, abs=1e-10)
        assert row.xc < 0


def test_labels_are_chosen_by_method_basis_or_hash_prefix_and_ambiguity_names_the_option(engine):
    from atomloop.store.labels import resolve_settings_hash

    _ingest(["H2O"])
    minimal, split = QMSettings(basis="sto-3g", schemes=()), QMSettings(basis="3-21g", schemes=())
    for settings in (minimal, split):
        label_molecules(settings, engine=engine, progress=False)
    with Session(engine) as session:
        assert resolve_settings_hash(session, basis="STO3G") == minimal.settings_hash
        assert resolve_settings_hash(session, method="HF", basis="3-21G") == split.settings_hash
        assert resolve_settings_hash(session, settings_hash=split.settings_hash[:8]) == split.settings_hash
        with pytest.raises(InputError, match=r"2 levels match .*choose one with --basis"):
            resolve_settings_hash(session, method="hf")
        with pytest.raises(InputError, match="at least 8 characters"):
            resolve_settings_hash(session, settings_hash=split.settings_hash[:4])
        with pytest.raises(InputError, match="labelled levels: hf/3-21g, hf/sto-3g"):
            resolve_settings_hash(session, basis="def2-svp")
