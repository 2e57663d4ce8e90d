"""Files of trained models: written atomically, each with a sha256 sidecar (``<file>.sha256``)
that is checked before anything is loaded."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import torch

from atomloop.errors import AtomloopError
from atomloop.models.networks import AtomEnergyModel, build

CHECKPOINT_FILE = "checkpoint.pt"


class ChecksumError(AtomloopError):
    """A model file does not match its recorded sha256."""


class CheckpointError(AtomloopError):
    """A file where a model or training checkpoint should be is not one (garbage, truncated, foreign)."""


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def save_payload(payload: dict[str, Any], path: Path) -> str:
    """``torch.save`` to ``path`` via a temporary file and rename; returns the sha256. The bytes
    are serialised in memory first, so a full or read-only disk raises a plain ``OSError`` that
    names the file (torch's own writer reports only an internal position), and leaves nothing
    half-written behind."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    checksum = hashlib.sha256(data).hexdigest()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    sidecar_temporary = temporary.with_name(temporary.name + ".sha256")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for where, content in ((temporary, data), (sidecar_temporary, f"{checksum}\n".encode())):
            try:
                where.write_bytes(content)
            except OSError as error:
                raise OSError(error.errno, error.strerror, str(where)) from error
        os.replace(temporary, path)
        os.replace(sidecar_temporary, _sidecar(path))
    finally:
        temporary.unlink(missing_ok=True)
        sidecar_temporary.unlink(missing_ok=True)
    return checksum


def load_payload(path: Path, *, expected_sha256: str | None = None) -> dict[str, Any]:
    """Load a file written by :func:`save_payload` after checking its sha256 against the
    sidecar and, when given, ``expected_sha256`` (e.g. the one recorded in the store)."""
    if not path.exists():
        raise AtomloopError(f"model file {path} does not exist")
    actual = sha256_of(path)
    recorded = _sidecar(path).read_text().strip() if _sidecar(path).exists() else None
    for expected in (recorded, expected_sha256):
        if expected is not None and expected != actual:
            raise ChecksumError(f"{path}: sha256 {actual[:12]}… does not match the recorded {expected[:12]}…")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types (UnpicklingError, RuntimeError, EOFError) for a foreign file
        raise CheckpointError(
            f"{path}: not an atomloop model file (torch cannot load it: {type(error).__name__}); "
            "remove it and train again"
        ) from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path}: not an atomloop model file: holds a {type(payload).__name__}, not a mapping")
    return payload


def save_model(model: AtomEnergyModel, path: Path) -> str:
    """Write the model's spec and weights; returns the file's sha256."""
    state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
    return save_payload({"spec": model.spec(), "state_dict": state}, path)


def model_from_payload(payload: dict[str, Any]) -> AtomEnergyModel:
    """Rebuild a model from a ``{"spec", "state_dict"}`` payload."""
    try:
        spec = payload["spec"]
        model = build(spec["arch"], spec["type_names"], **spec["hyperparameters"])
        model.load_state_dict(payload["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:  # a payload of another shape
        raise CheckpointError(f"not an atomloop model: {type(error).__name__}: {error}") from None
    return model.eval()


def load_model(path: Path, *, expected_sha256: str | None = None) -> AtomEnergyModel:
    """A model saved by :func:`save_model`, checksum verified, in eval mode on the CPU."""
    payload = load_payload(path, expected_sha256=expected_sha256)
    try:
        return model_from_payload(payload)
    except CheckpointError as error:
        raise CheckpointError(f"{path}: {error}") from None
