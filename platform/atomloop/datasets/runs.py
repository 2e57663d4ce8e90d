"""A run's data for training elsewhere: the labelled molecules of a run's training set (as it
stood after a round), test set or out-of-distribution test set, as ASE ``Atoms`` carrying their
labels the way ASE and the training files expect (:func:`atomloop.export.labelled_frame`)."""

from __future__ import annotations

from ase import Atoms
from sqlalchemy import Engine

SPLITS = ("train", "test", "ood_test")


def training_set(
    run: str, round: int | None = None, scheme: str | None = None, split: str = "train", *,
    engine: Engine | None = None,
) -> list[Atoms]:
    """The labelled molecules of run ``run``'s ``split`` at the run's labelling level.

    ``train``: the molecules selected in rounds 0..``round`` (default: the last round);
    ``test`` / ``ood_test``: the run's test sets. Each ``Atoms`` has the total energy on ASE's
    single-point calculator (eV; with ``scheme`` also that scheme's per-atom ``energies``),
    ``info['energy_hartree']``, every scheme's atomic energies in
    ``arrays['atomic_energies_<scheme>_hartree']`` and ``info['molecule_id']``; molecules not
    (yet) labelled are left out.
    """
    from atomloop.db.engine import get_engine, session_scope
    from atomloop.errors import InputError
    from atomloop.export import labelled_frame
    from atomloop.loop.config import LoopConfig
    from atomloop.models.names import ENERGY_INFO_KEY
    from atomloop.qm import QMSettings
    from atomloop.store.labels import LabelSource, atomic_energy_arrays, labelled_atoms, schemes_at
    from atomloop.store.runs import last_round_index, run_named, selected_ids, split_ids

    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    with session_scope(engine or get_engine()) as session:
        run_id, parameters = run_named(session, run)
        config = LoopConfig.model_validate(parameters)
        settings_hash = QMSettings(method=config.method, basis=config.basis, schemes=config.schemes).settings_hash
        if split == "train":
            last = last_round_index(session, run_id)
            ids = selected_ids(session, run_id, up_to_round=last if round is None else round) if last is not None else []
        else:
            ids = split_ids(session, run, split)
        schemes = schemes_at(session, settings_hash)
        if scheme is not None and scheme not in schemes:
            raise InputError(f"run {run!r} has no atomic energies of scheme {scheme!r}; stored: {', '.join(schemes) or 'none'}")
        molecules = labelled_atoms(session, LabelSource(settings_hash), ids)
        per_atom = atomic_energy_arrays(session, settings_hash, list(molecules), schemes)
    return [labelled_frame(atoms, float(atoms.info.pop(ENERGY_INFO_KEY)), per_atom.get(i, {}), scheme)
            for i, atoms in molecules.items()]
