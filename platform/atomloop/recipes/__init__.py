"""Recipes: each module is one unit of work that reads the store, calls a compute-only package
(:mod:`atomloop.qm`, :mod:`atomloop.select`, :mod:`atomloop.models`) and writes back, or hands
the result out (a calculator, an exported model). The loop (:mod:`atomloop.loop`), the studies
(:mod:`atomloop.study`) and the CLI compose recipes; the compute-only packages never import them.
"""

from atomloop.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "evaluate_registered": ".evaluate",
    "export_registered_model": ".export_model",
    "label_source": ".train",
    "load_registered_model": ".registered_model",
    "predict_and_store": ".evaluate",
    "prepare_data": ".train",
    "registered_calculator": ".registered_model",
    "select_round": ".select",
    "train_and_register": ".train",
})

__all__ = ["evaluate_registered", "export_registered_model", "label_source", "load_registered_model",
           "predict_and_store", "prepare_data", "registered_calculator", "select_round", "train_and_register"]
