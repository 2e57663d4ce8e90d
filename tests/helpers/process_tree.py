"""Real commands under real signals, for the tests of how commands stop: start ``atomloop`` in a
session of its own (as a terminal runs a job: its process group), watch every process it starts,
signal the group as a terminal's Ctrl-C does, and see what is left afterwards (read from /proc)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ATOMLOOP = [sys.executable, "-m", "atomloop"]
PROGRESS_PREFIXES = ("label ", "derive schemes")  # tqdm's progress bars of atomloop label (not messages)


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def descendants(root: int) -> set[int]:
    """Every live process below ``root``, whatever its process group."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def group_members(group: int) -> set[int]:
    """Live processes of process group ``group``."""
    members = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            if int(fields[2]) == group and fields[0] != "Z":
                members.add(int(entry.name))
    return members


def _embedded_server(pid: int) -> bool:
    """A PostgreSQL server process (``pg_ctl`` started it in a session of its own)."""
    return Path(command_line(pid).split(" ", 1)[0]).name == "postgres" or command_line(pid).startswith("postgres:")


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


class Command:
    """``atomloop ARGS`` in a new session with ``environment``; stderr kept in ``log``. A thread
    records every process the command starts (:attr:`seen`), so that what outlives it is found
    even when it left the command's process group."""

    def __init__(self, environment: dict, *args: str, log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen([*ATOMLOOP, *args], env=environment, stdout=subprocess.DEVNULL,
                                        stderr=log.open("w"), start_new_session=True)
        self.seen: set[int] = set()
        self._watching = True
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while self._watching and self.process.poll() is None:
            self.seen |= descendants(self.process.pid)
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        return self.log.read_text()

    def wait_for(self, condition, timeout: float = 300, poll: float = 0.1) -> None:
        """Wait until ``condition()`` holds while the command runs; fail with its stderr if it ends first."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"the command ended ({self.process.returncode}):\n{self.stderr()[-3000:]}"
            assert time.monotonic() < deadline, f"timed out waiting:\n{self.stderr()[-3000:]}"
            time.sleep(poll)

    def interrupt(self, timeout: float = 60) -> tuple[int, float, str]:
        """Ctrl-C as a terminal sends it (SIGINT to the whole process group); returns the exit
        status, the seconds until the command exited, and what it wrote to stderr after the signal."""
        self.seen |= descendants(self.pid)
        before = len(self.log.read_bytes())
        sent = time.monotonic()
        os.killpg(self.pid, signal.SIGINT)
        return self.finish(timeout, sent, before)

    def finish(self, timeout: float = 300, since: float | None = None, offset: int = 0) -> tuple[int, float, str]:
        """Wait for the command to end: (exit status, seconds since ``since``, stderr from ``offset``)."""
        since = time.monotonic() if since is None else since
        try:
            status = self.process.wait(timeout)
        finally:
            self._watching = False
        return status, time.monotonic() - since, self.log.read_bytes()[offset:].decode(errors="replace")

    def leftovers(self, within: float = 10) -> list[str]:
        """The processes the command started (or its group holds) still alive ``within`` seconds on,
        but for the embedded PostgreSQL server, which outlives commands by design (``atomloop db stop``)."""
        deadline = time.monotonic() + within
        while True:
            left = sorted(pid for pid in self.seen | group_members(self.pid) if alive(pid) and not _embedded_server(pid))
            if not left or time.monotonic() > deadline:
                return [f"{pid}: {command_line(pid)[:160]}" for pid in left]
            time.sleep(0.2)

    def kill(self) -> None:
        """Clean up after a failed test: SIGKILL the group and whatever the command started."""
        self._watching = False
        for pid in self.seen:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)


def messages(stderr: str) -> list[str]:
    """The lines of ``stderr`` without progress-bar redraws and blank lines."""
    lines = [line.strip() for line in stderr.replace("\r", "\n").split("\n")]
    return [line for line in lines if line and not line.startswith(PROGRESS_PREFIXES)]


def live_worker_claims(engine) -> bool:
    """Whether a calculation is claimed ('running') by a live worker process of this host."""
    from sqlalchemy import text

    with engine.connect() as connection:
        workers = connection.execute(text("SELECT worker FROM calculations WHERE status = 'running'")).scalars().all()
    for worker in workers:
        try:
            if alive(int(worker.partition(":")[2].partition("/")[0])):
                return True
        except ValueError:
            continue
    return False
