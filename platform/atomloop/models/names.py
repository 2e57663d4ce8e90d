"""Names of the model architectures, importable without torch (for the CLI and configs)."""

ARCHITECTURES: tuple[str, ...] = ("schnet", "nequip")
