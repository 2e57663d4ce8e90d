"""Names the selection accepts, importable without scikit-learn (for the CLI and the loop's config)."""

LEVELS: tuple[str, ...] = ("molecule", "atom")  # adversarial validation on molecules or on atoms
# "auto" (logistic runs the test; it scores up to 1 000 molecules on the smaller side, hgb beyond),
# logistic regression on principal axes, histogram gradient boosting; see atomloop.select.classifiers
CLASSIFIERS: tuple[str, ...] = ("auto", "logistic", "hgb")
# the strategies the selection benchmark compares with random, in its report's order
BENCHMARK_STRATEGIES: tuple[str, ...] = ("random", "adversarial", "targeted", "k-center", "ensemble", "coverage", "lcmd",
                                         "targeted-lcmd")
