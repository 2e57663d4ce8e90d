"""Foster-Boys localization keeps its AO dipole integrals (atomloop.qm.localize), real PySCF."""

from __future__ import annotations

import numpy as np
from pyscf import gto

from atomloop.qm.localize import with_kept_dipole_integrals


def test_kept_dipole_integrals_follow_the_common_origin_and_other_integrals_pass_through():
    mol = gto.M(atom="O 0 0 0; H 0.7539 0 -0.5878; H -0.7539 0 -0.5878", basis="sto-3g", verbose=0)
    kept = with_kept_dipole_integrals(mol)
    values = {}
    for origin in [(0.0, 0.0, 0.0), (1.0, -2.0, 0.5), (0.0, 0.0, 0.0)]:
        with kept.with_common_origin(origin), mol.with_common_origin(origin):
            fresh = mol.intor_symmetric("int1e_r", comp=3)
            assert np.array_equal(kept.intor_symmetric("int1e_r", comp=3), fresh)
            values[origin] = fresh
    # the origin shifts <r> by origin * S: a cache that ignored the origin would fail above
    overlap = mol.intor_symmetric("int1e_ovlp")
    np.testing.assert_allclose(values[(0.0, 0.0, 0.0)][1] - values[(1.0, -2.0, 0.5)][1], -2.0 * overlap, atol=1e-12)
    assert np.array_equal(kept.intor_symmetric("int1e_ovlp"), overlap)
