"""Descriptors: invariance to rotation, translation and atom order; shapes; element channels;
the pooled molecule descriptor's independence of size."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import molecule
from ase.collections import g2
from scipy.spatial.transform import Rotation

from atomloop.errors import InputError
from atomloop.select import descriptors
from atomloop.select.descriptors import MOLECULE_KINDS, DescriptorSettings, atom_descriptors, molecule_descriptors


def _moved(atoms, seed: int):
    """A rotated, translated copy with permuted atoms, and the permutation used."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(atoms))
    moved = atoms[order]
    rotation = Rotation.random(random_state=seed).as_matrix()
    moved.positions = moved.positions @ rotation.T + rng.normal(scale=5.0, size=3)
    return moved, order


@pytest.mark.parametrize("kind", MOLECULE_KINDS)
@pytest.mark.parametrize("name", ["C6H6", "CH3CH2OH", "CH3COCl", "C4H4S", "trans-butane"])
def test_descriptors_are_invariant_to_rotation_translation_and_permutation(name, kind):
    settings = DescriptorSettings(molecule_kind=kind)
    atoms = molecule(name)
    moved, order = _moved(atoms, seed=7)
    mol_a, mol_b = molecule_descriptors([atoms, moved], settings)
    assert np.abs(mol_a - mol_b).max() < 1e-10
    atom_a, _ = atom_descriptors([atoms])
    atom_b, _ = atom_descriptors([moved])
    assert np.abs(atom_a[order] - atom_b).max() < 1e-10
    # Non-trivial: the descriptors do see geometry (a stretched bond changes them).
    stretched = atoms.copy()
    stretched.positions[0] += 0.1
    assert np.abs(molecule_descriptors([stretched], settings)[0] - mol_a).max() > 1e-3


def _side_by_side(atoms, copies: int, gap: float = 20.0):
    """``copies`` copies of ``atoms`` ``gap`` Å apart: farther than any cutoff from each other."""
    joined = atoms.copy()
    for k in range(1, copies):
        shifted = atoms.copy()
        shifted.positions[:, 0] += k * gap
        joined += shifted
    return joined


def test_pooled_rows_are_channel_means_and_spreads_and_see_size_in_one_column():
    settings = DescriptorSettings()
    n_channels = len(settings.channels)
    ethanol = molecule("CH3CH2OH")
    per_atom, _ = atom_descriptors([ethanol], settings)
    width = per_atom.shape[1] - n_channels
    pooled = molecule_descriptors([ethanol], settings)[0]
    assert pooled.shape == (1 + n_channels + 2 * n_channels * width,)
    channel = {name: i for i, name in enumerate(settings.channels)}
    assert pooled[0] == pytest.approx(np.log(9))
    np.testing.assert_allclose(pooled[1 + channel["H"]], 6 / 9)
    blocks = pooled[1 + n_channels :].reshape(n_channels, 2, width)
    carbons = per_atom[ethanol.numbers == 6, n_channels:]
    np.testing.assert_allclose(blocks[channel["C"], 0], carbons.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(blocks[channel["C"], 1], carbons.std(axis=0), atol=1e-12)
    assert not blocks[channel["N"]].any() and blocks[channel["C"], 1].max() > 0.1  # two distinct carbons
    # Three non-interacting copies: the same local chemistry, so the same row but for log(n),
    # where every "counts" column but the radial shape triples.
    tripled = molecule_descriptors([_side_by_side(ethanol, 3)], settings)[0]
    assert tripled[0] == pytest.approx(np.log(27))
    np.testing.assert_allclose(tripled[1:], pooled[1:], atol=1e-12)
    counts = DescriptorSettings(molecule_kind="counts")
    np.testing.assert_allclose(
        molecule_descriptors([_side_by_side(ethanol, 3)], counts), 3 * molecule_descriptors([ethanol], counts)
    )


def test_pooled_descriptors_do_not_depend_on_the_chunking(monkeypatch):
    molecules = list(g2)[:40]
    whole = molecule_descriptors(molecules)
    monkeypatch.setattr(descriptors, "_POOLED_CHUNK_ATOMS", 25)  # many chunks, some of one molecule
    np.testing.assert_array_equal(molecule_descriptors(molecules), whole)


def test_descriptor_shapes_counts_and_pair_sums():
    settings = DescriptorSettings(molecule_kind="counts")
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
    settings = DescriptorSettings()
    features = molecule_descriptors([lithium_hydride])
    assert features[0, 1 + settings.channels.index("other")] == 0.5  # pooled: fractions after log(n)
    counts = molecule_descriptors([lithium_hydride], DescriptorSettings(molecule_kind="counts"))
    assert counts[0, settings.channels.index("other")] == 1
    with pytest.raises(InputError, match=r"contains \['Li'\]"):
        molecule_descriptors([lithium_hydride], DescriptorSettings(other_channel=False))
    with pytest.raises(InputError, match="unknown element"):
        DescriptorSettings(elements=("H", "Xx"))
    with pytest.raises(InputError, match="unknown molecule_kind 'sums'"):
        DescriptorSettings(molecule_kind="sums")


def test_whole_g2_collection_featurizes_with_finite_values():
    molecules = list(g2)
    features = molecule_descriptors(molecules)
    counts = molecule_descriptors(molecules, DescriptorSettings(molecule_kind="counts"))
    atom_features, offsets = atom_descriptors(molecules)
    assert features.shape[0] == counts.shape[0] == 162 and np.isfinite(features).all() and np.isfinite(counts).all()
    assert offsets[-1] == sum(len(a) for a in molecules) and np.isfinite(atom_features).all()


def test_auto_kind_pools_up_to_ten_thousand_molecules_and_counts_beyond():
    from atomloop.select.descriptors import AUTO_POOLED_MOLECULES, resolve_molecule_kind

    assert AUTO_POOLED_MOLECULES == 10_000
    assert resolve_molecule_kind("auto", 10_000) == "pooled" and resolve_molecule_kind("auto", 10_001) == "counts"
    assert resolve_molecule_kind("counts", 5) == "counts"
    water = molecule("H2O")
    assert molecule_descriptors([water]).shape == molecule_descriptors([water], DescriptorSettings(molecule_kind="pooled")).shape
