"""Selection: adversarial validation of training set vs pool, strategies, store rounds.

``adversarial_validation`` tests two lists of ASE ``Atoms`` and scores every pool molecule
(and atom); strategies pick a batch by name; ``select_round`` does a whole round against the
store. ``stopping_decision`` (also ``.decision`` of a result) reads a validation one-sided:
stop when no shift is detected and the AUC interval lies below 0.5 + margin.
"""

from atomloop.select.adversarial import AdversarialResult, adversarial_validation, group_keys
from atomloop.select.auc import bootstrap_auc_interval, roc_auc
from atomloop.select.descriptors import DescriptorSettings, atom_descriptors, molecule_descriptors
from atomloop.select.stopping import StopDecision, stopping_decision
from atomloop.select.store import SelectedMolecule, SelectionReport, next_round_index, select_round
from atomloop.select.strategies import (
    STRATEGIES,
    Picked,
    PoolView,
    Strategy,
    committee_disagreement,
    diverse_top_k,
    get_strategy,
    register_strategy,
)

__all__ = [
    "STRATEGIES",
    "AdversarialResult",
    "DescriptorSettings",
    "Picked",
    "PoolView",
    "SelectedMolecule",
    "SelectionReport",
    "StopDecision",
    "Strategy",
    "adversarial_validation",
    "atom_descriptors",
    "bootstrap_auc_interval",
    "committee_disagreement",
    "diverse_top_k",
    "get_strategy",
    "group_keys",
    "molecule_descriptors",
    "next_round_index",
    "register_strategy",
    "roc_auc",
    "select_round",
    "stopping_decision",
]
