"""Descriptors: invariance to rotation, translation and atom order; shapes; element channels."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import molecule
from ase.collections import g2
from scipy.spatial.transform import Rotation

from atomloop.errors import InputError
from atomloop.select.descriptors import DescriptorSettings, atom_descriptors, molecule_descriptors


def _moved(atoms, seed: int):
    """A rotated, translated copy with permuted atoms, and the permutation used."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(atoms))
    moved = atoms[order]
    rotation = Rotation.random(random_state=seed).as_matrix()
    moved.positions = moved.positions @ rotation.T + rng.normal(scale=5.0, size=3)
    return moved, order


@pytest.mark.parametrize("name", ["C6H6", "CH3CH2OH", "CH3COCl", "C4H4S", "trans-butane"])
def test_descriptors_are_invariant_to_rotation_translation_and_permutation(name):
    atoms = molecule(name)
    moved, order = _moved(atoms, seed=7)
    mol_a, mol_b = molecule_descriptors([atoms, moved])
    assert np.abs(mol_a - mol_b).max() < 1e-10
    atom_a, _ = atom_descriptors([atoms])
    atom_b, _ = atom_descriptors([moved])
    assert np.abs(atom_a[order] - atom_b).max() < 1e-10
    # Non-trivial: the descriptors do see geometry (a stretched bond changes them).
    stretched = atoms.copy()
    stretched.positions[0] += 0.1
    assert np.abs(molecule_descriptors([stretched])[0] - mol_a).max() > 1e-3


def test_descriptor_shapes_counts_and_pair_sums():
    settings = DescriptorSettings()
    n_channels = len(settings.channels)
    n_pairs = n_channels * (n_channels + 1) // 2
    water, methane = molecule("H2O"), molecule("CH4")
    features = molecule_descriptors([water, methane], settings)
    assert features.shape == (2, n_channels + n_pairs * settings.molecule_n_radial)
    channel = {name: i for i, name in enumerate(settings.channels)}
    np.testing.assert_array_equal(features[0, :n_channels][[channel["H"], channel["O"]]], [2, 1])
    np.testing.assert_array_equal(features[1, :n_channels][[channel["H"], channel["C"]]], [4, 1])
    # Water has no C pairs; methane has 4 C-H and 6 H-H pairs, no C-C pair.
    pair_block = features[:, n_channels:].reshape(2, n_pairs, settings.molecule_n_radial)
    pairs = [(a, b) for a in range(n_channels) for b in range(a, n_channels)]
    cc, ch, hh = pairs.index((1, 1)), pairs.index((0, 1)), pairs.index((0, 0))
    assert pair_block[0, ch].sum() == 0 and pair_block[1, cc].sum() == 0
    assert pair_block[1, ch].sum() > 0 and pair_block[1, hh].sum() > 0

    atoms_features, offsets = atom_descriptors([water, methane], settings)
    np.testing.assert_array_equal(offsets, [0, 3, 8])
    n_angular = 4 * len(settings.angular_shells)
    assert atoms_features.shape == (8, n_channels * (1 + settings.atom_n_radial) + n_pairs * n_angular)


def test_unknown_elements_share_the_other_channel_or_fail_clearly():
    lithium_hydride = molecule("LiH")
    features = molecule_descriptors([lithium_hydride])
    settings = DescriptorSettings()
    assert features[0, settings.channels.index("other")] == 1
    with pytest.raises(InputError, match=r"contains \['Li'\]"):
        molecule_descriptors([lithium_hydride], DescriptorSettings(other_channel=False))
    with pytest.raises(InputError, match="unknown element"):
        DescriptorSettings(elements=("H", "Xx"))


def test_whole_g2_collection_featurizes_with_finite_values():
    molecules = list(g2)
    features = molecule_descriptors(molecules)
    atom_features, offsets = atom_descriptors(molecules)
    assert features.shape[0] == 162 and np.isfinite(features).all()
    assert offsets[-1] == sum(len(a) for a in molecules) and np.isfinite(atom_features).all()
