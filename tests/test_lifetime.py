"""``exit_when_orphaned``: pool workers end with the process that started them, the idle ones
and the ones orphaned before they got to watch (the race ``kill -9`` of the loop once lost); throwaway
clusters (the test harness's, the benches') end with the command that started them, however it ends."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")

# A parent that starts a spawn pool with the loop's worker initializer, makes both workers start (one task
# each, then idle), prints their pids and waits to be killed.
POOL_PARENT = textwrap.dedent(
    """
    import concurrent.futures, multiprocessing, os, time
    from atomloop.loop.tasks import make_task_runner

    def pid_after_a_while(_):
        time.sleep(0.3)
        return os.getpid()

    if __name__ == "__main__":
        runner = make_task_runner("process", 2)  # the loop's pool, as Prefect builds it
        pool = concurrent.futures.ProcessPoolExecutor(
            2, mp_context=multiprocessing.get_context("spawn"),
            initializer=runner._initializer, initargs=runner._initargs,
        )
        pids = set()
        while len(pids) < 2:
            pids |= set(pool.map(pid_after_a_while, range(4)))
        print(*sorted(pids), flush=True)
        time.sleep(600)
    """
)

# A process that is orphaned first and only then starts watching the pid that started it.
LATE_WATCHER = textwrap.dedent(
    """
    import os, subprocess, sys, time
    if len(sys.argv) == 1:  # the parent: start the child, say its pid, die at once
        child = subprocess.Popen([sys.executable, __file__, str(os.getpid())])
        print(child.pid, flush=True)
        os._exit(0)
    time.sleep(1.0)  # the parent is gone by now
    from atomloop.lifetime import exit_when_orphaned
    exit_when_orphaned(int(sys.argv[1]), 0.2)
    time.sleep(600)
    """
)

# A command holding a throwaway cluster (as the test harness and the benches do): it says the
# postmaster's pid and the cluster's folder, then waits to be stopped.
CLUSTER_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from atomloop.db.embedded import throwaway_cluster
    from atomloop.lifetime import sigterm_raises

    with sigterm_raises(), throwaway_cluster(Path(sys.argv[1])) as server:
        print(server.server_pid, server.cluster_dir, flush=True)
        time.sleep(600)
    """
)

# A process that forks inside sigterm_raises: the child, SIGTERMed, dies of it (it must not unwind
# into its parent's cleanup); the parent still turns SIGTERM into SystemExit.
FORK_INSIDE = textwrap.dedent(
    """
    import os, signal, sys, time
    from atomloop.lifetime import sigterm_raises

    with sigterm_raises():
        child = os.fork()
        if child == 0:
            try:
                time.sleep(60)
            finally:
                print("child unwound", flush=True)
            os._exit(0)
        time.sleep(0.5)
        os.kill(child, signal.SIGTERM)
        _, status = os.waitpid(child, 0)
        print("child", os.WTERMSIG(status) if os.WIFSIGNALED(status) else "exited", flush=True)
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        except SystemExit as stop:
            print("parent", stop.code, flush=True)
    """
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(_alive(pid) for pid in pids)


def test_idle_pool_workers_exit_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "pool_parent.py"
    script.write_text(POOL_PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        assert _gone_within(workers, 15), "idle pool workers outlived their parent"
    finally:
        try:
            os.killpg(parent.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_process_orphaned_before_it_watches_still_exits(tmp_path):
    script = tmp_path / "late_watcher.py"
    script.write_text(LATE_WATCHER)
    parent = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                            start_new_session=True)
    child = int(parent.stdout.split()[0])
    try:
        assert _gone_within([child], 15), "an orphan that watched its original parent's pid kept running"
    finally:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_throwaway_cluster_ends_with_the_command_that_started_it(tmp_path, stop):
    script = tmp_path / "cluster_holder.py"
    script.write_text(CLUSTER_HOLDER)
    holder = subprocess.Popen([sys.executable, str(script), str(tmp_path / "pg")], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    cluster_dir = ""
    try:
        pid, cluster_dir = holder.stdout.readline().split()
        postmaster = int(pid)
        assert _alive(postmaster)
        os.kill(holder.pid, stop)
        assert holder.wait(timeout=60) == (143 if stop == signal.SIGTERM else -signal.SIGKILL)
        assert _gone_within([postmaster], 20), f"the cluster's server outlived a {stop.name}ed command"
        if stop == signal.SIGTERM:  # the command unwound: the cluster is deleted too
            assert not Path(cluster_dir).exists()
    finally:
        try:
            os.killpg(holder.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(cluster_dir, ignore_errors=True)  # what a SIGKILL leaves (it may lie outside tmp_path)


def test_sigterm_unwinds_the_process_that_asked_and_kills_its_forked_children(tmp_path):
    script = tmp_path / "fork_inside.py"
    script.write_text(FORK_INSIDE)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert result.stdout.split("\n")[:2] == [f"child {int(signal.SIGTERM)}", "parent 143"], result.stdout + result.stderr


# A parent that ignores SIGTERM, with a target (a sleeping process) bound to it by a watchdog.
WATCHED_TARGET = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    from atomloop.lifetime import stop_with_this_process

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    target = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    watchdog = stop_with_this_process(target.pid)
    print(target.pid, watchdog.pid, flush=True)
    time.sleep(600)
    """
)


def test_a_watchdog_leaves_its_target_to_a_live_parent_and_stops_it_once_the_parent_is_gone(tmp_path):
    """A SIGTERM or Ctrl-C to the whole process group reaches the watchdog too: while its parent
    lives, the parent stops the target in its own time (serve pauses its deployments on its live
    Prefect server first: the watchdog once killed the server under it, and serve hung)."""
    script = tmp_path / "watched_target.py"
    script.write_text(WATCHED_TARGET)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, start_new_session=True)
    target = 0
    try:
        target, watchdog = (int(pid) for pid in parent.stdout.readline().split())
        time.sleep(1.0)  # the watchdog's handlers are in place
        for sent in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
            os.killpg(parent.pid, sent)
        time.sleep(1.0)
        assert _alive(watchdog) and _alive(target)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        assert _gone_within([target, watchdog], 15), "the target outlived its SIGKILLed parent"
    finally:
        for pid in (parent.pid, target):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, OSError):
                pass


# interrupts_unwind: a KeyboardInterrupt that Python dropped in a finalizer is raised again; a
# second Ctrl-C while unwinding ends the process at once.
UNWINDING = textwrap.dedent(
    """
    import os, signal, sys, time
    from atomloop.lifetime import interrupts_unwind

    class Unraisable:
        exc_type, exc_value, exc_traceback, err_msg, object = KeyboardInterrupt, KeyboardInterrupt(), None, None, None

    with interrupts_unwind():
        if sys.argv[1] == "dropped":
            sys.unraisablehook(Unraisable())  # what Python does with a KeyboardInterrupt raised in a finalizer
            try:
                time.sleep(10)
            except KeyboardInterrupt:
                print("raised again", flush=True)
        else:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(10)
            except KeyboardInterrupt:
                print("unwinding", flush=True)
                os.kill(os.getpid(), signal.SIGINT)  # the impatient second Ctrl-C
                time.sleep(10)
                print("still here", flush=True)
    """
)


def test_a_dropped_ctrl_c_is_raised_again_and_a_second_one_ends_the_process_at_once(tmp_path):
    script = tmp_path / "unwinding.py"
    script.write_text(UNWINDING)
    dropped = subprocess.run([sys.executable, str(script), "dropped"], capture_output=True, text=True, timeout=60)
    assert dropped.stdout.split("\n")[0] == "raised again", dropped.stdout + dropped.stderr
    started = time.monotonic()
    second = subprocess.run([sys.executable, str(script), "second"], capture_output=True, text=True, timeout=60)
    assert second.returncode == 130 and second.stdout.strip() == "unwinding", second.stdout + second.stderr
    assert second.stderr.strip() == "interrupted; rerun to resume"
    assert time.monotonic() - started < 10
