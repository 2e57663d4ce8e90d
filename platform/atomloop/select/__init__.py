"""Selection: adversarial validation of training set vs pool, strategies, store rounds.

``adversarial_validation`` tests two lists of ASE ``Atoms`` (repeated group cross-validation,
a group-level permutation test) and scores every pool molecule (and atom, a molecule's atoms
then scored together by ``size_fair_scores``), on descriptors of local chemistry pooled per
element, independent of size (``DescriptorSettings(molecule_kind="pooled")``, what the default ``"auto"`` uses up to 10,000 molecules;
``"counts"`` for the former sums over pairs); strategies pick a
batch by name (a whole round against the store: :func:`atomloop.recipes.select.select_round`). ``stopping_decision``
(also ``.decision`` of a result) reads a validation one-sided: a shift when the permutation
p-value is at most 0.05; stop when there is none and the AUC interval lies below 0.5 + margin.
"""

from atomloop.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "AdversarialResult": ".adversarial",
    "adversarial_validation": ".adversarial",
    "group_keys": ".adversarial",
    "size_fair_scores": ".adversarial",
    "bootstrap_auc_interval": ".auc",
    "permutation_p_value": ".auc",
    "roc_auc": ".auc",
    "DescriptorSettings": ".descriptors",
    "atom_descriptors": ".descriptors",
    "molecule_descriptors": ".descriptors",
    "ShiftTest": ".stopping",
    "StopDecision": ".stopping",
    "stopping_decision": ".stopping",
    "STRATEGIES": ".strategies",
    "Picked": ".strategies",
    "PoolView": ".strategies",
    "Strategy": ".strategies",
    "committee_disagreement": ".strategies",
    "diverse_top_k": ".strategies",
    "get_strategy": ".strategies",
    "pick": ".strategies",
    "register_strategy": ".strategies",
})

__all__ = [
    "STRATEGIES",
    "AdversarialResult",
    "DescriptorSettings",
    "Picked",
    "PoolView",
    "ShiftTest",
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
    "permutation_p_value",
    "pick",
    "register_strategy",
    "roc_auc",
    "size_fair_scores",
    "stopping_decision",
]
