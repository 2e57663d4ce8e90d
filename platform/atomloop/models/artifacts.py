"""Writing under the artifacts directory: a failed write (disk full, read-only file system, no
permission) becomes one :class:`~atomloop.errors.ArtifactWriteError` line naming the path."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from atomloop.errors import ArtifactWriteError

WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR})


@contextmanager
def writing_artifacts(root: Path) -> Iterator[None]:
    """Raise :class:`ArtifactWriteError` for a write under ``root`` that the disk refused."""
    try:
        yield
    except OSError as error:
        if error.errno not in WRITE_ERRORS:
            raise
        where = error.filename or root
        raise ArtifactWriteError(
            f"cannot write model artifacts: {where}: {error.strerror} (artifacts live under {root}; "
            "free space there or set ATOMLOOP_HOME to a writable place)"
        ) from None
