"""Model building blocks: keys, neighbour lists, reference fit, symmetry, the ASE calculator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import units
from ase.build import molecule
from ase.neighborlist import neighbor_list as ase_neighbor_list
from models_testdata import labelled
from scipy.spatial.transform import Rotation

from atomloop.errors import InputError
from atomloop.models import AtomloopCalculator, build, keys
from atomloop.models.data import atoms_to_graph, collate, neighbour_list
from atomloop.models.evaluate import predict
from atomloop.models.reference import fit_reference_energies
from atomloop.models.training import TrainingConfig, new_model, train


def test_batch_keys_are_nequip_keys():
    from nequip.data import AtomicDataDict

    assert keys.POSITIONS == AtomicDataDict.POSITIONS_KEY
    assert keys.ATOM_TYPES == AtomicDataDict.ATOM_TYPE_KEY
    assert keys.BATCH == AtomicDataDict.BATCH_KEY
    assert keys.NUM_ATOMS == AtomicDataDict.NUM_NODES_KEY
    assert keys.EDGE_INDEX == AtomicDataDict.EDGE_INDEX_KEY
    assert keys.ATOMIC_ENERGY == AtomicDataDict.PER_ATOM_ENERGY_KEY
    assert keys.TOTAL_ENERGY == AtomicDataDict.TOTAL_ENERGY_KEY


def test_neighbour_list_matches_ase_per_molecule_and_in_batches():
    molecules = [molecule(name) for name in ("CH3CH2OH", "C6H6", "H2O")]
    r_max = 2.2
    graphs = [atoms_to_graph(atoms, ["H", "C", "O"], r_max) for atoms in molecules]
    for atoms, graph in zip(molecules, graphs):
        i, j = ase_neighbor_list("ij", atoms, r_max)
        assert sorted(zip(i.tolist(), j.tolist())) == sorted(map(tuple, graph[keys.EDGE_INDEX].T.tolist()))
    batch = collate(graphs)
    direct = neighbour_list(batch[keys.POSITIONS], batch[keys.NUM_ATOMS], r_max)
    assert torch.equal(direct, batch[keys.EDGE_INDEX])
    # no edge crosses molecules
    assert torch.equal(batch[keys.BATCH][direct[0]], batch[keys.BATCH][direct[1]])


def test_reference_fit_recovers_per_element_energies():
    molecules = [molecule(name) for name in ("H2O", "CH4", "CO2", "C2H6", "CH3OH", "H2")]
    truth = {1: -0.5, 6: -37.8, 8: -74.8}
    for atoms in molecules:
        atoms.info["energy"] = sum(truth[int(z)] for z in atoms.numbers)
    fit = fit_reference_energies(molecules, ["H", "C", "O"])
    np.testing.assert_allclose(fit.energies, [-0.5, -37.8, -74.8], atol=1e-10)
    assert fit.scale == pytest.approx(1e-3)  # exact fit: the floor
    with pytest.raises(InputError):
        fit_reference_energies([molecule("H2O")], ["H", "O"])


def test_device_choice():
    from atomloop.errors import AtomloopError
    from atomloop.models.training import resolve_device

    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(AtomloopError, match="no CUDA device"):
            resolve_device("cuda")
    with pytest.raises(InputError, match="unknown device"):
        TrainingConfig(device="tpu")


def test_unknown_element_and_architecture_are_clear_errors():
    with pytest.raises(InputError, match="unknown architecture"):
        build("painn", ["H"])
    with pytest.raises(InputError, match="unknown schnet hyper-parameter"):
        build("schnet", ["H"], l_max=2)
    with pytest.raises(InputError, match="element\\(s\\) N unknown"):
        atoms_to_graph(molecule("NH3"), ["H", "C"], 4.0)


@pytest.fixture(scope="module", params=["schnet", "nequip"])
def trained(request):
    molecules = labelled()
    model = new_model(request.param, molecules, num_features=16, num_layers=2)
    train(model, molecules, None, TrainingConfig(epochs=5, batch_size=5, progress=False))
    return model


def _random_rotation(seed: int) -> np.ndarray:
    return Rotation.random(random_state=seed).as_matrix()


def test_predictions_invariant_under_rotation_translation_permutation(trained):
    molecules = labelled(("CH3OH", "C2H4", "HCN"), rattle_seed=3)
    base = predict(trained, molecules)
    rng = np.random.default_rng(0)
    moved = []
    permutations = []
    for k, atoms in enumerate(molecules):
        other = atoms.copy()
        other.positions = other.positions @ _random_rotation(k).T + rng.normal(size=3) * 5.0
        order = rng.permutation(len(other))
        permutations.append(order)
        moved.append(other[order])
    after = predict(trained, moved)
    for before, now, order in zip(base, after, permutations):
        assert now.energy == pytest.approx(before.energy, abs=1e-5)
        np.testing.assert_allclose(now.atomic_energies, before.atomic_energies[order], atol=1e-5)
        assert now.atomic_energies.sum() == pytest.approx(now.energy, abs=1e-10)
    # the network is not trivially constant: molecules differ beyond their references
    assert len({round(p.energy, 6) for p in base}) == 3


def test_calculator_units_per_atom_energies_and_autograd_forces(trained):
    atoms = labelled(("CH3OH",), rattle_seed=4)[0]
    atoms.calc = AtomloopCalculator(trained)
    energy = atoms.get_potential_energy()
    assert energy == pytest.approx(predict(trained, [atoms])[0].energy * units.Hartree, abs=1e-9)
    assert atoms.calc.get_energies().sum() == pytest.approx(energy, abs=1e-8)
    np.testing.assert_allclose(atoms.get_potential_energies(), atoms.calc.get_energies())
    forces = atoms.get_forces()
    assert np.abs(forces.sum(axis=0)).max() < 1e-4  # translation invariance: no net force
    step = 1e-4
    for index, axis in ((0, 0), (3, 2)):
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[index, axis] += step
        minus.positions[index, axis] -= step
        plus.calc = minus.calc = AtomloopCalculator(trained)
        numeric = -(plus.get_potential_energy() - minus.get_potential_energy()) / (2 * step)
        assert forces[index, axis] == pytest.approx(numeric, abs=2e-3 * max(1.0, abs(numeric)))
