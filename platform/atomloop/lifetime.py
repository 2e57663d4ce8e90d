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

Ctrl-C: a terminal sends SIGINT to every process of its foreground process group, the command's
helpers included. The helpers leave it to the command: a Prefect server runs in a process group
of its own, watchdogs and worker processes ignore it (:func:`ignore_interrupts`, or
:func:`interrupts_held` around their start, which they inherit), so the command alone unwinds
(:func:`interrupts_unwind`), stops its helpers on the way out and says so in one line.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator

ORPHAN_CHECK_S = 2.0
_watched_parents: set[int] = set()

_WATCHDOG = """
import os, signal, sys, time
target, parent, first = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def stop(*_):
    if os.getppid() == parent:
        return  # a SIGTERM to the whole process group: the parent lives and stops the target itself
    try:
        os.kill(target, first)
        for _ in range(50):
            time.sleep(0.1)
            os.kill(target, 0)
        os.kill(target, signal.SIGKILL)
    except ProcessLookupError:
        pass
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)  # the parent's death signal (die_with_parent)
for other in (signal.SIGINT, signal.SIGHUP):  # a Ctrl-C or a hang-up is the parent's to handle
    signal.signal(other, signal.SIG_IGN)
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
    when this process ends, however it ends; call from the main thread. Returns the watchdog:
    dismiss it with :func:`dismiss_watchdog` once ``pid`` is stopped the ordinary way. While this
    process lives the watchdog ignores Ctrl-C, hang-ups and a SIGTERM sent to the whole process
    group (this process stops ``pid`` itself, after what still needs it, such as a Prefect
    server that records how a run ended). SIGTERM stays blocked in the watchdog until its handler
    is in place: a parent killed while the watchdog's interpreter still starts would otherwise
    kill the watchdog, not its target."""

    def prepare() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        die_with_parent(signal.SIGTERM)

    return subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(pid), str(os.getpid()), str(int(first_signal))],
        preexec_fn=prepare, stdin=subprocess.DEVNULL,
    )


def dismiss_watchdog(watchdog: subprocess.Popen) -> None:
    """End a watchdog of :func:`stop_with_this_process` whose target was stopped (it keeps no state)."""
    watchdog.kill()
    watchdog.wait(timeout=10)


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


INTERRUPTED_MESSAGE = "interrupted; rerun to resume"
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's status of a command stopped by Ctrl-C


class StopRequested(KeyboardInterrupt):
    """A stop this process asked of itself (:func:`stop_main_thread`): it unwinds as a Ctrl-C
    does, and :func:`stop_reason` says why (the command's last line)."""


class _Interrupts:
    """The state of :func:`interrupts_unwind` (one per process)."""

    depth = 0
    stopping = threading.Event()
    reason: str | None = None
    pending: BaseException | None = None  # raised by the next SIGINT handler call
    main_ident: int | None = None
    previous_handler = None
    previous_hook = None
    lock = threading.Lock()


def stopping() -> bool:
    """Whether this process is unwinding after a Ctrl-C or a :func:`stop_main_thread` (its console
    then stays quiet but for the command's last line)."""
    return _Interrupts.stopping.is_set()


def stop_reason() -> str | None:
    """Why :func:`stop_main_thread` stopped this process; None after a Ctrl-C (or no stop)."""
    return _Interrupts.reason


def _force_exit() -> None:
    """A second Ctrl-C while unwinding: leave at once. What this process started ends too: the
    watchdogs stop its servers, its workers watch their parent."""
    with contextlib.suppress(Exception):
        sys.stderr.write(f"{INTERRUPTED_MESSAGE}\n")
        sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def _on_sigint(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    with _Interrupts.lock:
        pending, _Interrupts.pending = _Interrupts.pending, None
        if pending is None and _Interrupts.stopping.is_set():
            pending = False  # a second Ctrl-C
        _Interrupts.stopping.set()
    if pending is False:
        _force_exit()
    raise pending if pending is not None else KeyboardInterrupt


def _deliver_pending(main_ident: int) -> None:
    """Raise the pending exception in the main thread (by a SIGINT to it), if still pending there."""
    if _Interrupts.main_ident == main_ident and _Interrupts.pending is not None:
        signal.pthread_kill(main_ident, signal.SIGINT)


def _unraisable(unraisable) -> None:
    """Python drops an exception raised in a finalizer or weakref callback (it only prints it): a
    Ctrl-C landing there would be lost, and the command would run on. Raise it again."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _Interrupts.main_ident is not None:
        with _Interrupts.lock:
            _Interrupts.pending = unraisable.exc_value
        again = threading.Timer(0.05, _deliver_pending, (_Interrupts.main_ident,))  # here it would be dropped again
        again.daemon = True
        again.start()
        return
    (_Interrupts.previous_hook or sys.__unraisablehook__)(unraisable)


@contextlib.contextmanager
def interrupts_unwind() -> Iterator[None]:
    """Within the block, the first Ctrl-C (SIGINT) raises ``KeyboardInterrupt`` in the main thread
    and marks this process :func:`stopping`; one that lands where Python ignores exceptions (a
    finalizer) is raised again; a second Ctrl-C while unwinding ends the process at once with the
    one line and status 130 (:func:`_force_exit`). Main thread only, else it changes nothing;
    nested blocks share the outermost one's handler. The previous handler is restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _Interrupts.depth == 0:
        _Interrupts.stopping.clear()
        _Interrupts.reason = _Interrupts.pending = None
        _Interrupts.main_ident = threading.get_ident()
        _Interrupts.previous_handler = signal.signal(signal.SIGINT, _on_sigint)
        _Interrupts.previous_hook, sys.unraisablehook = sys.unraisablehook, _unraisable
    _Interrupts.depth += 1
    try:
        yield
    finally:
        _Interrupts.depth -= 1
        if _Interrupts.depth == 0:
            signal.signal(signal.SIGINT, _Interrupts.previous_handler)
            sys.unraisablehook = _Interrupts.previous_hook
            _Interrupts.main_ident = None


def stop_main_thread(reason: str) -> bool:
    """From any thread: unwind the main thread as a Ctrl-C does (:class:`StopRequested`, which
    carries ``reason``), waking it from any blocking wait (a real SIGINT to that thread). Only
    inside :func:`interrupts_unwind`; returns whether the stop was requested (False outside, or
    when the process is stopping already)."""
    with _Interrupts.lock:
        if _Interrupts.main_ident is None or _Interrupts.stopping.is_set():
            return False
        _Interrupts.stopping.set()
        _Interrupts.reason = reason
        _Interrupts.pending = StopRequested(reason)
    signal.pthread_kill(_Interrupts.main_ident, signal.SIGINT)
    return True


def ignore_interrupts() -> None:
    """In a helper process (a pool worker, a watchdog): ignore Ctrl-C, which the terminal sends
    to the whole process group; the command that started the helper stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold SIGINT back in this thread within the block (it arrives after it): processes started
    here inherit the blocked signal, so they never see a Ctrl-C, from their first instruction on."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def end_processes(processes: Iterable, grace_s: float = 2.0) -> None:
    """Stop ``processes`` (``multiprocessing`` processes of this one): SIGTERM, then SIGKILL to
    those still alive after ``grace_s`` seconds; each is joined (reaped)."""
    processes = [p for p in processes if p.is_alive()]
    for process in processes:
        with contextlib.suppress(OSError):
            process.terminate()
    deadline = time.monotonic() + grace_s
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            with contextlib.suppress(OSError):
                process.kill()
            process.join(5)


def quiet_resource_tracker() -> None:
    """Start ``multiprocessing``'s resource tracker of this process without its warnings (call
    before any pool): a pool worker stopped in the middle of a task (:func:`end_processes`)
    leaves the semaphores of its queues to the tracker, which removes them, and would print a
    "leaked semaphore objects" warning after the command's last line. Nothing if it runs already."""
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker
    if getattr(tracker, "_fd", None) is not None:
        return
    saved = list(sys.warnoptions)
    sys.warnoptions.append("ignore::UserWarning")  # passed on to the tracker as -W (its only warnings are these)
    try:
        resource_tracker.ensure_running()
    finally:
        sys.warnoptions[:] = saved
