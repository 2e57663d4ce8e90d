"""``atomloop ingest FILE --labels`` (issue 27): energies that are no numbers, beyond a physical
range or whose per-atom parts do not sum to the total are refused in one line naming the file
and frame; a label that differs from the one stored is an error naming both values unless
``--replace``, which records what it replaced; bad tags are refused; a refused file writes
nothing."""

from __future__ import annotations

from pathlib import Path

import ase.io
import numpy as np
import pytest
from ase.build import molecule
from ase.calculators.singlepoint import SinglePointCalculator
from ase.units import Hartree
from sqlalchemy import text
from cli_output import one_error_line

from atomloop.cli import EXIT_ERROR

LEVEL_OPTIONS = ("--labels", "--label-program", "orca", "--label-method", "b3lyp", "--label-basis", "def2-SVP")
WATER_HARTREE = -74.987  # a total energy (Hartree)
WATER_SPLIT = np.array([-74.0, -0.4935, -0.4935])  # its per-atom energies (Hartree), summing to it


def _water(energy_hartree: float = WATER_HARTREE, per_atom_hartree=WATER_SPLIT):
    atoms = molecule("H2O")
    atoms.calc = SinglePointCalculator(atoms, energy=energy_hartree * Hartree,
                                       energies=None if per_atom_hartree is None else np.asarray(per_atom_hartree) * Hartree)
    return atoms


def _written(path: Path, *frames) -> Path:
    ase.io.write(path, list(frames), format="extxyz")
    return path


def _store(engine) -> tuple[int, list[tuple]]:
    """(molecules, [(molecule id, status, total energy in Hartree, scf_info)]) of the store."""
    with engine.connect() as connection:
        molecules = connection.execute(text("SELECT count(*) FROM molecules")).scalar_one()
        calculations = connection.execute(text(
            "SELECT molecule_id, status::text, total_energy, scf_info FROM calculations ORDER BY molecule_id")).all()
    return molecules, [tuple(row) for row in calculations]


def _atomic(engine, scheme: str = "external") -> list[float]:
    with engine.connect() as connection:
        return list(connection.execute(text(
            "SELECT energy FROM atomic_energies WHERE scheme = :scheme ORDER BY calculation_id, atom_index"),
            {"scheme": scheme}).scalars())


def _refused(atomloop, engine, path: Path, *options: str) -> str:
    """The one error line of ingesting ``path`` with labels, checking that nothing was written."""
    before = _store(engine)
    status, stdout, stderr = atomloop("ingest", str(path), *LEVEL_OPTIONS, *options)
    assert (status, stdout) == (EXIT_ERROR, "")
    assert _store(engine) == before
    return one_error_line(stderr)


def test_per_atom_energies_must_sum_to_the_total(database_url, engine, tmp_path, atomloop):
    path = _written(tmp_path / "split.extxyz", _water(per_atom_hartree=[-0.05, -0.03, -0.03]))
    assert _refused(atomloop, engine, path) == (
        f"error: {path}:1: per-atom energies sum to -0.110000 Ha but the energy is -74.987000 Ha; "
        "they must agree within 1e-06 Ha")


def test_an_atomic_energies_array_in_hartree_must_sum_to_the_total_too(database_url, engine, tmp_path, atomloop):
    water = _water()
    water.arrays["atomic_energies_mo-pm-iao_hartree"] = WATER_SPLIT + [0.0, 0.0, 2e-6]
    path = _written(tmp_path / "scheme.extxyz", water)
    assert _refused(atomloop, engine, path) == (
        f"error: {path}:1: atomic_energies_mo-pm-iao_hartree sum to -74.986998 Ha but the energy is -74.987000 Ha; "
        "they must agree within 1e-06 Ha")


def test_per_atom_energies_within_the_tolerance_are_stored(database_url, engine, tmp_path, atomloop):
    path = _written(tmp_path / "close.extxyz", _water(per_atom_hartree=WATER_SPLIT + [0.0, 0.0, 5e-7]))
    status, stdout, _ = atomloop("ingest", str(path), *LEVEL_OPTIONS)
    assert status == 0 and stdout.splitlines()[0].endswith("1 added, 0 already present; 1 labels at b3lyp/def2-SVP (orca)")
    np.testing.assert_allclose(_atomic(engine), WATER_SPLIT + [0.0, 0.0, 5e-7], rtol=0, atol=1e-9)  # the file keeps 8 decimals of eV


@pytest.mark.parametrize(("energy", "shown"), [("1e300", "1e+300"), ("-1e12", "-1e+12"), ("nan", "nan")])
def test_totals_beyond_a_physical_range_are_refused(database_url, engine, tmp_path, atomloop, energy, shown):
    path = tmp_path / "huge.xyz"
    path.write_text(f"2\nenergy={energy}\nH 0 0 0\nH 0 0 0.74\n")
    assert _refused(atomloop, engine, path) == (
        f"error: {path}:1: energy {shown} eV for 2 atoms is not finite or beyond ±100000 eV per atom "
        "(ASE's energies are in eV)")


def test_a_per_atom_energy_beyond_the_range_is_refused_even_when_the_sum_is_right(database_url, engine, tmp_path,
                                                                                   atomloop):
    per_atom = [WATER_HARTREE * Hartree - 1e6, 5e5, 5e5]  # eV: sums to the total
    water = molecule("H2O")
    water.calc = SinglePointCalculator(water, energy=WATER_HARTREE * Hartree, energies=per_atom)
    path = _written(tmp_path / "spread.extxyz", water)
    assert _refused(atomloop, engine, path) == (
        f"error: {path}:1: per-atom energies: atom 1 (O) has -1.00204e+06 eV; "
        "per-atom energies must be finite and within ±100000 eV")


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ("energy=T", "energy True is not a number"),
        ("energy=F", "energy False is not a number"),
        ("energy=abc", "energy 'abc' is not a number"),
        ('energy="1 2"', "energy array([1, 2]) is not a number"),
    ],
)
def test_an_energy_that_is_no_number_names_the_frame(database_url, engine, tmp_path, atomloop, comment, message):
    path = tmp_path / "words.xyz"
    path.write_text(f"1\nenergy=-13.6\nH 0 0 0\n1\n{comment}\nH 0 0 0\n")  # the second frame starts on line 4
    assert _refused(atomloop, engine, path) == f"error: {path}:4: {message}"


@pytest.mark.parametrize(
    ("column", "values", "holds"),
    [("energies:S:1", ("x", "y"), "text (type S)"), ("energies:L:1", ("T", "F"), "booleans (type L)"),
     ("atomic_energies_ao-eda_hartree:L:1", ("T", "T"), "booleans (type L)")],
)
def test_per_atom_energies_that_are_no_numbers_are_refused(database_url, engine, tmp_path, atomloop, column, values,
                                                            holds):
    """ASE would read a logical column as 1.0 and 0.0 and fail on a text one with its own words."""
    path = tmp_path / "columns.extxyz"
    path.write_text(f"2\nProperties=species:S:1:pos:R:3:{column} energy=-27.0\n"
                    f"H 0 0 0 {values[0]}\nH 0 0 0.74 {values[1]}\n")
    assert _refused(atomloop, engine, path) == f"error: {path}:1: column {column.split(':')[0]} holds {holds}, not numbers"


def test_a_different_label_for_a_stored_molecule_is_an_error_naming_both(database_url, engine, tmp_path, atomloop):
    first = _written(tmp_path / "first.extxyz", _water())
    status, _, _ = atomloop("ingest", str(first), *LEVEL_OPTIONS)
    assert status == 0
    (molecule_id, *_), = _store(engine)[1]
    second = _written(tmp_path / "second.extxyz", _water(WATER_HARTREE - 0.01, WATER_SPLIT - [0.01, 0, 0]))
    assert _refused(atomloop, engine, second) == (
        f"error: {second}:1: energy -74.997000 Ha differs from -74.987000 Ha stored for this molecule "
        f"(molecule {molecule_id}) at b3lyp/def2-SVP (orca); give --replace to replace it")
    assert _atomic(engine) == pytest.approx(WATER_SPLIT.tolist(), abs=1e-9)


def test_the_same_total_split_differently_is_a_different_label(database_url, engine, tmp_path, atomloop):
    status, _, _ = atomloop("ingest", str(_written(tmp_path / "first.extxyz", _water())), *LEVEL_OPTIONS)
    assert status == 0
    (molecule_id, *_), = _store(engine)[1]
    other = _written(tmp_path / "other.extxyz", _water(per_atom_hartree=WATER_SPLIT + [0.1, -0.05, -0.05]))
    assert _refused(atomloop, engine, other) == (
        f"error: {other}:1: external energy of atom 1 -73.900000 Ha differs from -74.000000 Ha stored for this "
        f"molecule (molecule {molecule_id}) at b3lyp/def2-SVP (orca); give --replace to replace it")


def test_replace_replaces_the_label_and_records_what_it_replaced(database_url, engine, tmp_path, atomloop):
    status, _, _ = atomloop("ingest", str(_written(tmp_path / "first.extxyz", _water())), *LEVEL_OPTIONS)
    assert status == 0
    second = _written(tmp_path / "second.extxyz", _water(WATER_HARTREE - 0.01, WATER_SPLIT - [0.01, 0, 0]))
    status, stdout, stderr = atomloop("ingest", str(second), *LEVEL_OPTIONS, "--replace")
    assert (status, stderr) == (0, "")
    assert stdout.splitlines()[0] == f"{second}: 0 added, 1 already present; 1 labels at b3lyp/def2-SVP (orca)"
    molecules, [(_, state, energy, scf_info)] = _store(engine)
    assert (molecules, state, energy) == (1, "done", pytest.approx(WATER_HARTREE - 0.01, abs=1e-12))
    [replaced] = scf_info["replaced"]
    assert (replaced["total_energy_hartree"], replaced["by"]) == (pytest.approx(WATER_HARTREE, abs=1e-12), f"{second}:1")
    assert _atomic(engine) == pytest.approx((WATER_SPLIT - [0.01, 0, 0]).tolist(), abs=1e-9)
    # the same again changes nothing; a third label adds to the record
    status, stdout, _ = atomloop("ingest", str(second), *LEVEL_OPTIONS, "--replace")
    assert status == 0 and stdout.splitlines()[0].endswith("; 0 labels at b3lyp/def2-SVP (orca)")
    third = _written(tmp_path / "third.extxyz", _water(WATER_HARTREE, None))
    assert atomloop("ingest", str(third), *LEVEL_OPTIONS, "--replace")[0] == 0
    _, [(_, _, energy, scf_info)] = _store(engine)
    assert energy == pytest.approx(WATER_HARTREE, abs=1e-12) and _atomic(engine) == []
    assert [r["by"] for r in scf_info["replaced"]] == [f"{second}:1", f"{third}:1"]


def test_replace_needs_labels(database_url, tmp_path, atomloop):
    status, _, stderr = atomloop("ingest", str(_written(tmp_path / "w.extxyz", _water())), "--replace")
    assert status == EXIT_ERROR
    assert one_error_line(stderr) == "error: --replace replaces stored labels: it needs --labels"


def test_two_different_labels_in_one_file_are_an_error_and_nothing_is_written(database_url, engine, tmp_path,
                                                                              atomloop):
    methane = molecule("CH4")
    methane.calc = SinglePointCalculator(methane, energy=-1093.0)
    path = _written(tmp_path / "twice.extxyz", methane, _water(), _water(WATER_HARTREE + 0.5, None))
    assert _refused(atomloop, engine, path) == (
        f"error: {path}:13: energy -74.487000 Ha differs from -74.987000 Ha given for the same molecule at {path}:8")
    assert _store(engine) == (0, [])


def test_a_file_refused_half_way_leaves_the_store_as_it_was(database_url, engine, tmp_path, atomloop):
    status, _, _ = atomloop("ingest", str(_written(tmp_path / "first.extxyz", _water())), *LEVEL_OPTIONS)
    assert status == 0
    before = _store(engine)
    methane = molecule("CH4")
    methane.calc = SinglePointCalculator(methane, energy=-1093.0)
    path = _written(tmp_path / "mixed.extxyz", methane, _water(WATER_HARTREE + 1.0, None))
    assert _refused(atomloop, engine, path).startswith(f"error: {path}:8: energy -73.987000 Ha differs from ")
    assert _store(engine) == before  # the methane of the same file was not added either


def test_per_atom_energies_given_later_join_the_stored_label(database_url, engine, tmp_path, atomloop):
    status, _, _ = atomloop("ingest", str(_written(tmp_path / "total.extxyz", _water(per_atom_hartree=None))),
                            *LEVEL_OPTIONS)
    assert status == 0 and _atomic(engine) == []
    status, stdout, _ = atomloop("ingest", str(_written(tmp_path / "split.extxyz", _water())), *LEVEL_OPTIONS)
    assert status == 0 and stdout.splitlines()[0].endswith("0 added, 1 already present; 0 labels at b3lyp/def2-SVP (orca)")
    assert _atomic(engine) == pytest.approx(WATER_SPLIT.tolist(), abs=1e-9)


def test_a_failed_calculation_at_the_level_gets_the_label(database_url, engine, tmp_path, atomloop):
    from atomloop.ingest import ExternalLevel, ingest_atoms

    level = ExternalLevel(program="orca", method="b3lyp", basis="def2-SVP")
    [molecule_id] = ingest_atoms([molecule("H2O")], source="plain", engine=engine).molecule_ids
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO calculations (molecule_id, method, basis, settings_hash, settings, program, status, attempts, "
            "reason) VALUES (:id, 'b3lyp', 'def2-SVP', :hash, '{}', 'orca', 'failed', 1, 'no convergence')"),
            {"id": molecule_id, "hash": level.settings_hash})
    status, stdout, _ = atomloop("ingest", str(_written(tmp_path / "w.extxyz", _water())), *LEVEL_OPTIONS)
    assert status == 0 and stdout.splitlines()[0].endswith("; 1 labels at b3lyp/def2-SVP (orca)")
    assert _store(engine) == (1, [(molecule_id, "done", pytest.approx(WATER_HARTREE, abs=1e-12), None)])


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("", "empty tag: a tag needs a character other than spaces"),
        ("  ", "empty tag: a tag needs a character other than spaces"),
        ("alcohol,ether", "tag 'alcohol,ether' contains ',', which separates the tags of tag_list; give each tag on its own"),
    ],
)
def test_bad_tags_are_refused(database_url, engine, tmp_path, atomloop, tag, message):
    status, _, stderr = atomloop("ingest", "ase:g2", "--limit", "2", "--tag", tag)
    assert status == EXIT_ERROR
    assert one_error_line(stderr) == f"error: {message}"
    assert _store(engine) == (0, [])


def test_a_tag_with_the_separator_in_a_file_names_the_frame(database_url, engine, tmp_path, atomloop):
    path = tmp_path / "tagged.xyz"
    path.write_text("1\ntags=alcohol\nH 0 0 0\n1\ntags=a,b\nLi 0 0 0\n")
    status, _, stderr = atomloop("ingest", str(path))
    assert status == EXIT_ERROR
    assert one_error_line(stderr) == (
        f"error: {path}:4: tag 'a,b' contains ',', which separates the tags of tag_list; give each tag on its own")
    assert _store(engine) == (0, [])
    path.write_text("1\ntags=alcohol\nH 0 0 0\n")  # one tag written in a file is that tag, not its letters
    assert atomloop("ingest", str(path))[0] == 0
    with engine.connect() as connection:
        assert connection.execute(text("SELECT tags FROM molecules")).scalar_one() == ["alcohol"]


def test_booleans_given_through_the_python_api_are_refused(engine):
    from atomloop.errors import InputError
    from atomloop.ingest import ExternalLevel, ingest_atoms

    level = ExternalLevel(program="orca", method="b3lyp", basis="def2-SVP")
    water = molecule("H2O")
    water.info["energy"] = np.True_
    with pytest.raises(InputError) as refused:
        ingest_atoms([water], source="api", labels=level, engine=engine)
    assert str(refused.value) == "api[0]: energy True is not a number"
    water.info["energy"] = WATER_HARTREE * Hartree
    water.arrays["energies"] = np.array([True, False, False])
    with pytest.raises(InputError) as refused:
        ingest_atoms([water], source="api", labels=level, engine=engine)
    assert str(refused.value) == "api[0]: per-atom energies are not numbers (the first is True)"
    assert _store(engine) == (0, [])
