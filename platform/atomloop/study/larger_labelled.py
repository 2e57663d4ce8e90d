"""``python -m atomloop.study.larger_labelled build``: builds the shipped set of larger molecules
of :mod:`atomloop.datasets.larger_labelled` (the command its manifest records)."""

from atomloop.datasets.larger_labelled import cli

if __name__ == "__main__":
    cli()
