"""Processes that end with the command that started them, even when it is killed with SIGKILL.

Linux first (elsewhere best effort):

* :func:`die_with_parent` asks the kernel to SIGKILL the calling process when the thread that
  started it ends (``PR_SET_PDEATHSIG``); for processes a command starts from its main thread.
* :func:`exit_when_orphaned` watches ``os.getppid()`` from a daemon thread and exits when the
  parent is gone; for pool workers, whose starting thread may end before they do.
* :func:`stop_with_this_process` binds a process this one did not start itself (a server a
  library launched) to this one's life, through a tiny watchdog process of the first kind.
* :func:`sigterm_raises` makes a SIGTERM unwind this process with an exception, so that its
  ``finally`` blocks and context managers clean up (Python's default is to die on the spot).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

ORPHAN_CHECK_S = 2.0
_watched_parents: set[int] = set()

_WATCHDOG = """
import os, signal, sys, time
target, parent, first = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def stop(*_):
    try:
        os.kill(target, first)
        for _ in range(50):
            time.sleep(0.1)
            os.kill(target, 0)
        os.kill(target, signal.SIGKILL)
    except ProcessLookupError:
        pass
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})  # a SIGTERM held back since the fork arrives now
if os.getppid() != parent:
    stop()
while True:
    time.sleep(3600)
"""


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Have the kernel send ``sig`` to this process when its parent (thread) ends."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def exit_when_orphaned(parent_pid: int | None = None, interval_s: float = ORPHAN_CHECK_S) -> None:
    """Exit this process (status 1) within ``interval_s`` seconds of the death of its parent
    ``parent_pid`` (default: the current parent). Pass the pid that started this process when it
    may have died already: a process orphaned before the call would otherwise watch its new
    parent, the reaper, forever. One watching thread per parent, however often this is called."""
    parent = os.getppid() if parent_pid is None else parent_pid
    if parent in _watched_parents:
        return
    _watched_parents.add(parent)

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(interval_s)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="atomloop-orphan-watch").start()


def stop_with_this_process(pid: int, first_signal: int = signal.SIGTERM) -> subprocess.Popen:
    """Start a watchdog that stops process ``pid`` (``first_signal``, then SIGKILL after 5 s)
    when this process ends, however it ends; call from the main thread. Returns the watchdog
    (terminate it once ``pid`` is stopped the ordinary way). SIGTERM stays blocked in the watchdog
    until its handler is in place: a parent killed while the watchdog's interpreter still starts
    would otherwise kill the watchdog, not its target."""

    def prepare() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        die_with_parent(signal.SIGTERM)

    return subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(pid), str(os.getpid()), str(int(first_signal))],
        preexec_fn=prepare, stdin=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def sigterm_raises(exception: type[BaseException] = SystemExit) -> Iterator[None]:
    """Within the block, a SIGTERM raises ``exception`` in the main thread (``SystemExit(143)``,
    128 + 15, the shell's status of a SIGTERMed command, by default; ``KeyboardInterrupt`` where
    a framework such as pytest catches every other exception), so the cleanup around it runs;
    the previous handler is restored afterwards. Outside the main thread it changes nothing. A
    process forked inside the block dies of a SIGTERM as usual: it must not run its parent's
    cleanup."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def leave(*_) -> None:
        if os.getpid() != owner:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise exception(128 + signal.SIGTERM) if exception is SystemExit else exception()

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
