"""Names importable without torch: the architectures, and where labels sit on ASE ``Atoms``."""

ARCHITECTURES: tuple[str, ...] = ("schnet", "nequip")

ENERGY_INFO_KEY = "energy"  # atoms.info[...]: molecular energy label, Hartree
ATOMIC_ENERGIES_ARRAY_KEY = "atomic_energies"  # atoms.arrays[...]: (natoms,) atomic energy labels, Hartree
