"""Datasets: those shipped with atomloop, which ingestion (``atomloop:NAME`` sources) and the
studies both read, and a run's data for training elsewhere.

- :mod:`~atomloop.datasets.qm9_labelled` and :mod:`~atomloop.datasets.larger_labelled`: the
  shipped labelled sets (:data:`~atomloop.datasets.qm9_labelled.LABELLED_SETS`), built in chunks
  by :mod:`~atomloop.datasets.labelled_sets`; their files are under ``atomloop/data/``;
- :mod:`~atomloop.datasets.functional_groups`: the functional-group classes of a SMILES;
- :func:`training_set` (:mod:`~atomloop.datasets.runs`): a run's labelled molecules as ASE ``Atoms``.
"""

from atomloop.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {"training_set": ".runs"})

__all__ = ["training_set"]
