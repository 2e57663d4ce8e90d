"""Transferability studies: which training data and which model transfer to molecules
unlike the training set.

A study is a named matrix of experiments (:class:`StudyConfig`, :class:`Experiment`) run over
the store (:func:`run_study`), stored as rows (``studies``, ``experiments``,
``experiment_errors``) with SQL views (``study_experiments``, ``study_summary``,
``study_element_errors``, ``study_group_errors``), drawn as plots and written as an HTML report.
"""

from atomloop.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "Experiment": ".matrix",
    "StudyConfig": ".matrix",
    "Target": ".matrix",
    "StudyPlan": ".runner",
    "StudyResult": ".runner",
    "run_experiment": ".runner",
    "run_study": ".runner",
})

__all__ = ["Experiment", "StudyConfig", "StudyPlan", "StudyResult", "Target", "run_experiment", "run_study"]
