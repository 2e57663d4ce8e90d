"""``python -m atomloop.study.qm9_labelled build``: builds the shipped QM9 labelled sets of
:mod:`atomloop.datasets.qm9_labelled` (the command their manifests record)."""

from atomloop.datasets.qm9_labelled import cli

if __name__ == "__main__":
    cli()
