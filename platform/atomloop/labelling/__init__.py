"""Labelling against the store: PySCF calculations claimed, computed in parallel and stored.

``label_molecules(settings, ...)`` picks molecules without a finished calculation at
``settings.settings_hash``, claims ``calculations`` rows (``FOR UPDATE SKIP LOCKED``), runs
workers and writes each molecule's total and atomic energies in one transaction. Killing it at
any moment and running it again keeps finished work, redoes interrupted work and duplicates
nothing.
"""

from atomloop.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "ResourceLimits": ".limits",
    "LabelReport": ".runner",
    "label_molecules": ".runner",
})

__all__ = ["LabelReport", "ResourceLimits", "label_molecules"]
