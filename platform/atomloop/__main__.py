"""``python -m atomloop``: the same command as ``atomloop``."""

from atomloop.cli import main

main()
