"""Names the selection accepts, importable without scikit-learn (for the CLI and the loop's config)."""

LEVELS: tuple[str, ...] = ("molecule", "atom")  # adversarial validation on molecules or on atoms
CLASSIFIERS: tuple[str, ...] = ("hgb", "logistic")  # histogram gradient boosting, logistic regression
