"""The embedded PostgreSQL cluster: one per ``ATOMLOOP_HOME``, on 127.0.0.1 only.

Binaries, first found wins:

1. ``ATOMLOOP_PG_BINDIR`` (a directory holding ``initdb``, ``pg_ctl``, ``postgres``);
2. the system's PostgreSQL (``/usr/lib/postgresql/<newest>/bin``), which every user can read;
3. the binaries bundled in the ``pgserver`` wheel (a dependency), so a machine without any
   PostgreSQL installed still works.

PostgreSQL refuses to run as root. As root the cluster is owned by and run as an
unprivileged system user (``postgres`` when it exists, else ``atomloop-pg``, created with
``useradd``). When the home directory is not traversable by that user (``/root`` is mode
700), the cluster lives in ``/var/lib/atomloop/<hash of home>`` instead; the home keeps a
pointer file. The server listens on 127.0.0.1 only (no Unix socket), authenticates with a
random password stored in ``<cluster>/password`` (mode 600) and outlives the process that
started it (``atomloop db stop`` stops it).

A user's stop is a stop: a long command (``atomloop loop``) holds its server open
(:func:`held_open`), and while it runs neither it nor the processes it started start the server
again once it was stopped (cleanly: ``atomloop db stop``); the command ends with one line
(:data:`STOPPED_MESSAGE`), and its rerun starts the server and resumes. A server that crashed (no
clean shutdown) may still be started again, as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from atomloop.errors import AtomloopError

DATABASE_NAME = "atomloop"
SUPERUSER = "postgres"
_SERVICE_USERS = ("postgres", "atomloop-pg")


HELD_VARIABLE = "ATOMLOOP_EMBEDDED_HELD"  # the cluster folder a running command holds open (inherited by its workers)
STOPPED_MESSAGE = "the embedded PostgreSQL was stopped while this command ran (atomloop db stop); rerun to resume"


class EmbeddedDatabaseError(AtomloopError):
    """The embedded cluster could not be created, started or stopped."""


def _unwritable(folder: Path, error: OSError) -> EmbeddedDatabaseError:
    return EmbeddedDatabaseError(f"cannot write the store's folder {folder}: {error.strerror}; set ATOMLOOP_HOME to a "
                                 "writable folder, or ATOMLOOP_DATABASE_URL to a PostgreSQL server")


class EmbeddedServerStoppedError(EmbeddedDatabaseError):
    """The server a running command holds open (:func:`held_open`) was stopped: it is not started
    behind the user's back."""


def find_bindir() -> Path:
    """Directory with the PostgreSQL server binaries (see the module docstring)."""
    override = os.environ.get("ATOMLOOP_PG_BINDIR")
    candidates: list[Path] = [Path(override)] if override else []
    system = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += system
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    with contextlib.suppress(ImportError):
        import importlib.util

        spec = importlib.util.find_spec("pgserver")
        if spec is not None and spec.origin is not None:  # found without importing it
            return Path(spec.origin).parent / "pginstall" / "bin"
    raise EmbeddedDatabaseError(
        "no PostgreSQL binaries found: install the 'pgserver' package or the system "
        "PostgreSQL server, or set ATOMLOOP_PG_BINDIR"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _service_user() -> pwd.struct_passwd | None:
    """The unprivileged user to run PostgreSQL as, or None when not root."""
    if os.geteuid() != 0:
        return None
    for name in _SERVICE_USERS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", _SERVICE_USERS[-1]],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(_SERVICE_USERS[-1])


def _traversable_by_others(path: Path) -> bool:
    """True when every existing ancestor of ``path`` lets other users pass (o+x)."""
    for ancestor in [path, *path.parents]:
        if ancestor.exists():
            if not os.stat(ancestor).st_mode & 0o001:
                return False
    return True


@dataclass(frozen=True)
class ServerStatus:
    """What ``atomloop db status`` reports."""

    cluster_dir: Path
    initialized: bool
    running: bool
    port: int | None
    bindir: Path


class EmbeddedPostgres:
    """A PostgreSQL cluster owned by one atomloop home directory.

    >>> server = EmbeddedPostgres(Path("~/.local/share/atomloop/postgres").expanduser())
    >>> url = server.start()   # idempotent; 'postgresql+psycopg://postgres:***@127.0.0.1:PORT/atomloop'
    """

    def __init__(self, home_dir: Path, *, port: int | None = None):
        self.home_dir = Path(home_dir).absolute()
        self._requested_port = port
        self._user = _service_user()
        self.cluster_dir = self._resolve_cluster_dir()

    # -- layout -----------------------------------------------------------------------
    def _resolve_cluster_dir(self) -> Path:
        # the cluster folder itself is the service user's (mode 700); its ancestors must let it pass
        if self._user is None or _traversable_by_others(self.home_dir.parent):
            return self.home_dir
        digest = hashlib.sha1(str(self.home_dir).encode()).hexdigest()[:16]
        return Path("/var/lib/atomloop") / digest

    @property
    def data_dir(self) -> Path:
        return self.cluster_dir / "data"

    @property
    def _port_file(self) -> Path:
        return self.cluster_dir / "port"

    @property
    def _password_file(self) -> Path:
        return self.cluster_dir / "password"

    @property
    def log_file(self) -> Path:
        return self.cluster_dir / "server.log"

    @property
    def port(self) -> int | None:
        if self._port_file.exists():
            return int(self._port_file.read_text().strip())
        return None

    @property
    def password(self) -> str:
        return self._password_file.read_text().strip()

    def url(self, database: str = DATABASE_NAME, *, driver: str = "postgresql+psycopg") -> str:
        """SQLAlchemy URL of ``database`` on this cluster (contains the password)."""
        return f"{driver}://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    # -- process helpers --------------------------------------------------------------
    def _run(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs: dict[str, object] = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        result = subprocess.run(
            [str(find_bindir() / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            env=env,
            cwd="/",
            stdin=subprocess.DEVNULL,
            **kwargs,  # type: ignore[arg-type]
        )
        if check and result.returncode != 0:
            raise EmbeddedDatabaseError(
                f"{args[0]} failed (exit {result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
                f"; see {self.log_file}"
            )
        return result

    def _chown(self, path: Path) -> None:
        if self._user is not None:
            os.chown(path, self._user.pw_uid, self._user.pw_gid)

    @contextlib.contextmanager
    def _lock(self):
        try:
            self.cluster_dir.mkdir(parents=True, exist_ok=True)
            handle = open(self.cluster_dir / ".lock", "w")
        except OSError as error:
            raise _unwritable(self.cluster_dir, error) from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- lifecycle --------------------------------------------------------------------
    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialized():
            return False
        return self._run(["pg_ctl", "-D", str(self.data_dir), "status"], check=False).returncode == 0

    def _initialize(self) -> None:
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)  # a half-made cluster from an interrupted init
        self.cluster_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.cluster_dir, 0o700)
        self._chown(self.cluster_dir)
        self._password_file.write_text(secrets.token_urlsafe(24) + "\n")
        os.chmod(self._password_file, 0o600)
        self._chown(self._password_file)
        self._run(
            [
                "initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=scram-sha-256",
                f"--pwfile={self._password_file}", "--encoding=UTF8", "--locale=C",
            ]
        )
        port = self._requested_port or _free_port()
        conf = (
            "\n# atomloop embedded cluster\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {port}\n"
            "unix_socket_directories = ''\n"
            "max_connections = 200\n"
            "shared_buffers = 128MB\n"
            "fsync = on\n"
        )
        with open(self.data_dir / "postgresql.conf", "a") as handle:
            handle.write(conf)
        (self.data_dir / "pg_hba.conf").write_text(
            "# atomloop: TCP on the loopback address only, password required\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
        self._port_file.write_text(f"{port}\n")
        if self.cluster_dir != self.home_dir:
            self.home_dir.mkdir(parents=True, exist_ok=True)
            (self.home_dir / "CLUSTER_LOCATION").write_text(f"{self.cluster_dir}\n")

    def _stopped_under_a_holder(self) -> bool:
        """Whether a running command holds this cluster open (:func:`held_open`, here or in an
        ancestor) and the server was shut down cleanly (no ``postmaster.pid`` left)."""
        return (os.environ.get(HELD_VARIABLE) == str(self.cluster_dir)
                and not (self.data_dir / "postmaster.pid").exists())

    def start(self) -> str:
        """Create the cluster if needed, start it if stopped, create the database; return its URL.
        Inside a command that holds it open (:func:`held_open`), a server stopped cleanly is not
        started again: :class:`EmbeddedServerStoppedError`."""
        try:  # the home holds the cluster or its location: unwritable, nothing can start
            self.home_dir.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=self.home_dir).close()
        except OSError as error:
            raise _unwritable(self.home_dir, error) from None
        with self._lock():
            if not self.is_initialized():
                self._initialize()
            if not self.is_running():
                if self._stopped_under_a_holder():
                    raise EmbeddedServerStoppedError(STOPPED_MESSAGE)
                self.log_file.touch()
                self._chown(self.log_file)
                self._run(
                    ["pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60", "start"]
                )
            self.ensure_database(DATABASE_NAME)
        return self.url()

    def stop(self) -> bool:
        """Stop the server (fast shutdown); return whether it was running."""
        with self._lock():
            if not self.is_running():
                return False
            self._run(["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
            return True

    def destroy(self) -> None:
        """Stop the server and delete the cluster with all its data."""
        self.stop()
        shutil.rmtree(self.cluster_dir, ignore_errors=True)
        (self.home_dir / "CLUSTER_LOCATION").unlink(missing_ok=True)

    @property
    def server_pid(self) -> int | None:
        """Process id of the running server's postmaster (first line of ``postmaster.pid``)."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def status(self) -> ServerStatus:
        return ServerStatus(self.cluster_dir, self.is_initialized(), self.is_running(), self.port, find_bindir())

    def ensure_database(self, name: str) -> None:
        """Create database ``name`` on the running server unless it exists."""
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg.connect(
                    host="127.0.0.1", port=self.port, user=SUPERUSER, password=self.password,
                    dbname="postgres", autocommit=True, connect_timeout=5,
                )
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(f'CREATE DATABASE "{name}"')


@contextlib.contextmanager
def throwaway_cluster(home_dir: Path) -> Iterator[EmbeddedPostgres]:
    """A cluster that lives no longer than the process that started it (tests, benchmarks):
    started in ``home_dir``, yielded, then stopped and deleted. Should this process be killed
    (SIGKILL, or a SIGTERM that no :func:`atomloop.lifetime.sigterm_raises` turns into an
    exception), a watchdog stops the server within seconds (fast shutdown: SIGINT); the data
    folder then stays."""
    from atomloop.lifetime import dismiss_watchdog, stop_with_this_process

    server = EmbeddedPostgres(home_dir)
    watchdog = None
    try:
        server.start()
        watchdog = stop_with_this_process(server.server_pid, signal.SIGINT)
        yield server
    finally:
        server.destroy()
        if watchdog is not None:  # its target is gone: it just exits
            dismiss_watchdog(watchdog)


STOP_NOTICE_S = 10.0  # how long a lost connection waits to see whether the server is being stopped


def _stopped_within(server: EmbeddedPostgres, seconds: float) -> bool:
    """Whether ``server`` is found stopped cleanly under its holder within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not server._stopped_under_a_holder():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@contextlib.contextmanager
def held_open(server: EmbeddedPostgres | None, poll_s: float = 0.5) -> Iterator[None]:
    """Within the block (a command's run), ``server`` (None: an external store, nothing to do)
    is not started again once stopped cleanly, in this process or in any process started here
    (the environment carries the hold), and such a stop ends the command within ``poll_s``
    seconds: a thread watching the server asks the main thread to unwind
    (:func:`atomloop.lifetime.stop_main_thread`, whose reason, :data:`STOPPED_MESSAGE`, is the
    command's last line), so that no step waits on retries against a store that is gone."""
    if server is None:
        yield
        return
    from atomloop.lifetime import stop_main_thread

    previous = os.environ.get(HELD_VARIABLE)
    os.environ[HELD_VARIABLE] = str(server.cluster_dir)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(poll_s):
            if server._stopped_under_a_holder():
                stop_main_thread(STOPPED_MESSAGE)
                return

    watcher = threading.Thread(target=watch, daemon=True, name="atomloop-store-watch")
    watcher.start()
    try:
        yield
    except Exception as error:  # a query that met the shutdown before the watcher saw it
        from atomloop.db.errors import is_connection_error

        if is_connection_error(error) and _stopped_within(server, STOP_NOTICE_S):
            raise EmbeddedServerStoppedError(STOPPED_MESSAGE) from None
        raise
    finally:
        done.set()
        watcher.join(timeout=5)
        if previous is None:
            os.environ.pop(HELD_VARIABLE, None)
        else:
            os.environ[HELD_VARIABLE] = previous
