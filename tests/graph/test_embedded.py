"""The embedded engine's lifecycle: start, find, persist, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graph.backend import FalkorBackend, open_backend
from graph.embedded import MODULE_ARGS, EmbeddedEngine, engine_processes
from graph.errors import GraphError, GraphUnavailable


def test_start_status_stop_and_persistence(tmp_path: Path) -> None:
    eng = EmbeddedEngine(tmp_path / "g")
    assert not eng.status().running
    assert eng.start() is True
    assert eng.start() is False  # already running: found, not started twice
    st = eng.status()
    assert st.running and st.pid and Path(st.socket).exists()

    b = FalkorBackend(str(tmp_path / "g"))
    assert b.owns_engine is False  # someone else started it: this backend leaves it up
    # Loaded with our settings (graph.embedded.MODULE_ARGS), not FalkorDB's defaults.
    settings = dict(zip(MODULE_ARGS[::2], MODULE_ARGS[1::2], strict=True))
    for name, value in settings.items():
        got = b.graph.client.execute_command("GRAPH.CONFIG", "GET", name)
        assert [str(x.decode() if isinstance(x, bytes) else x) for x in got] == [name, value]
    b.write("CREATE (:Entity {title: 'Kept'})")
    b.close()
    assert eng.status().running

    t = time.perf_counter()
    assert eng.stop() is True
    assert time.perf_counter() - t < 5  # no multi-second wait on the server's threads
    assert not eng.status().running
    assert eng.stop() is False

    b = FalkorBackend(str(tmp_path / "g"))  # started on demand, stopped on close
    assert b.owns_engine is True
    assert b.read("MATCH (e:Entity) RETURN e.title AS t") == [{"t": "Kept"}]
    b.close()
    assert not eng.status().running


def test_no_autostart_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(GraphUnavailable, match="not running") as info:
        FalkorBackend(str(tmp_path / "g"), autostart=False)
    assert "hcsp graph start" in (info.value.hint or "")


def test_long_paths_use_a_short_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    b = FalkorBackend(str(deep))
    try:
        assert b.read("RETURN 1 AS one") == [{"one": 1}]
        assert len(b.engine.socket_path) <= 100
    finally:
        b.close()


def test_unwritable_folder_and_unknown_scheme(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(GraphUnavailable, match="cannot create the graph folder"):
        FalkorBackend(str(blocker / "g"))
    with pytest.raises(GraphError, match="unknown graph URI scheme"):
        open_backend("redis://localhost:6379")


def test_neo4j_down_is_one_clear_error() -> None:
    with pytest.raises(GraphUnavailable, match=r"cannot reach Neo4j at bolt://127\.0\.0\.1:1") \
            as info:
        open_backend("bolt://127.0.0.1:1", password="x")
    assert "docker compose up -d neo4j" in (info.value.hint or "")


# -- owners, orphans, supervision -----------------------------------------------------------
def _child(code: str, path: Path) -> subprocess.Popen[str]:
    """A Python process that opens the graph at ``path``, prints 'up', runs ``code``."""
    script = f"from graph.backend import FalkorBackend\nb = FalkorBackend({str(path)!r})\n" \
             f"print('up', flush=True)\n{code}\n"
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
    return proc


def test_an_orphaned_engine_is_adopted_and_then_stopped(tmp_path: Path) -> None:
    path = tmp_path / "g"
    proc = _child("import time; time.sleep(60)", path)
    pid = EmbeddedEngine(path).info()["pid"]
    assert EmbeddedEngine(path).info()["owner_pid"] == proc.pid
    proc.kill()  # SIGKILL: no clean-up runs, the engine is left behind
    proc.wait()
    assert engine_processes(path) == [pid]
    b = FalkorBackend(str(path))
    assert b.owns_engine is True  # adopted: this process stops it now
    assert b.engine_info()["pid"] == pid and b.engine_info()["owner_pid"] == os.getpid()
    b.close()
    assert engine_processes(path) == []


def test_an_owner_that_exits_without_closing_stops_its_engine(tmp_path: Path) -> None:
    path = tmp_path / "g"
    proc = _child("b.write('CREATE (:Entity {title: \"x\"})')", path)  # never closes
    assert proc.wait(timeout=60) == 0
    assert engine_processes(path) == []  # stopped at exit
    b = FalkorBackend(str(path))
    try:
        assert b.read("MATCH (e:Entity) RETURN e.title AS t") == [{"t": "x"}]
    finally:
        b.close()


def test_supervisor_restarts_gives_up_and_respects_a_stop(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    path = tmp_path / "g"
    b = FalkorBackend(str(path), supervise=True)
    try:
        b.write("CREATE (:Entity {title: 'kept'})")
        first = b.engine_info()
        assert first["supervised"] and first["owner_pid"] == os.getpid()
        os.kill(first["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 5
        while True:
            try:
                assert b.read("MATCH (e:Entity) RETURN e.title AS t") == [{"t": "kept"}]
                break
            except GraphUnavailable:
                assert time.monotonic() < deadline, "not restarted within 5 s"
                time.sleep(0.01)
        assert b.engine_info()["restarts"] == 1
        assert engine_processes(path) == [b.engine_info()["pid"]]

        # An engine that cannot come back: bounded retries, then the supervisor gives up.
        sup = b._supervisor
        assert sup is not None
        sup.backoff = sup.max_backoff = 0.01

        def broken() -> tuple[str, str]:
            raise GraphUnavailable("no engine binary")

        monkeypatch.setattr("graph.embedded._binaries", broken)
        os.kill(b.engine_info()["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not sup.gave_up:
            assert time.monotonic() < deadline, "the supervisor never gave up"
            time.sleep(0.01)
        info = b.engine_info()
        assert not info["supervised"] and info["gave_up"] and info["restarts"] == 1
    finally:
        monkeypatch.undo()
        b.close()
    assert engine_processes(path) == []

    # A deliberate stop (`hcsp graph stop`) is not undone by the supervisor.
    b = FalkorBackend(str(path), supervise=True)
    try:
        b.engine.stop()
        time.sleep(0.3)
        assert engine_processes(path) == [] and b.engine_info()["restarts"] == 0
    finally:
        b.close()


def test_a_supervised_engine_that_is_down_is_left_to_its_supervisor(tmp_path: Path) -> None:
    path = tmp_path / "g"
    b = FalkorBackend(str(path), supervise=True)
    try:
        sup = b._supervisor
        assert sup is not None and sup._thread is not None
        sup._stop.set()  # its thread ends; its registration in engine.json stays
        sup._thread.join()
        pid = b.engine_info()["pid"]
        os.kill(pid, signal.SIGKILL)
        # Gone from the process list (its memory is freed) is not yet gone: until it is
        # a zombie it still counts as running, and an opener would try to connect.
        while pid in engine_processes(path) or b.engine.status().running:
            time.sleep(0.01)
        with pytest.raises(GraphUnavailable, match="being restarted by its supervisor"):
            FalkorBackend(str(path))  # another opener (an API worker) does not start it
    finally:
        b.close()
    assert engine_processes(path) == [] and not (path / "engine.json").exists()


def test_replies_parse_as_falkordbs_own_parser_reads_them(tmp_path: Path) -> None:
    """FalkorBackend parses the compact reply itself (graph.backend._rows): every value
    type comes back as falkordb's QueryResult gives it, and errors still raise."""
    b = FalkorBackend(str(tmp_path / "g"))
    try:
        b.write("CREATE (:Entity {title: 'a', n: 1, x: 1.5, ok: true, l: [1, 2], s: ['b']})")
        q = ("MATCH (e:Entity) RETURN e.title AS t, e.n AS n, e.x AS x, e.ok AS ok, "
             "e.l AS l, {k: e.s, z: e.x, w: {q: null}} AS m, e AS node, null AS nothing, "
             "[] AS empty, date('2020-01-02') AS d, -0.0 AS z, $p AS p, 'say \"hi\"' AS q")
        p = {"p": {"a": [1, 'x"y', None]}}
        res = b.graph.ro_query(q, p)
        expected = [dict(zip([h[1] for h in res.header], row, strict=True))
                    for row in res.result_set]
        got = b.read(q, p)
        assert got == expected
        assert got[0]["m"] == {"k": ["b"], "z": 1.5, "w": {"q": None}}
        assert got[0]["p"] == {"a": [1, 'x"y', None]} and got[0]["ok"] is True
        assert b.read("MATCH (e:Nope) RETURN e.title AS t") == []
        assert b.write("CREATE (:Tmp)") == []
        with pytest.raises(GraphError, match="Division by zero"):  # a run-time error
            b.read("UNWIND [1, 0] AS x RETURN 1 / x AS y")
        with pytest.raises(GraphError, match="Invalid input"):  # rejected when parsed
            b.read("MATCH (e RETURN e")
    finally:
        b.close()


def test_each_thread_has_its_own_connection_and_a_restart_is_survived(tmp_path: Path) -> None:
    """FalkorBackend talks to the engine on a connection per thread (graph.backend
    _send). After the engine is killed and started again, a read and a write both go
    through on the same backend (neither could be sent to the dead one); one thread's
    connection is let go when the thread ends, and close() closes the rest. More
    threads than the client's pool allows (100) each get one."""
    import gc
    import threading

    path = tmp_path / "g"
    eng = EmbeddedEngine(path)
    eng.start(detached=True)
    b = FalkorBackend(str(path))
    try:
        b.write("CREATE (:Entity {title: 'kept'})")
        seen: list[object] = []

        def in_a_thread() -> None:
            assert b.read("MATCH (e:Entity) RETURN e.title AS t") == [{"t": "kept"}]
            seen.append(b._local.conn)

        for _ in range(120):
            t = threading.Thread(target=in_a_thread)
            t.start()
            t.join()
        assert len(seen) == 120 and len({id(c) for c in seen}) == 120
        assert seen[0] is not b._local.conn  # not this thread's
        del seen[:]
        gc.collect()
        assert len(b._conns) == 1  # this thread's; the ended threads' were let go

        os.kill(eng.status().pid or 0, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while eng.status().running:
            assert time.monotonic() < deadline, "the killed engine still runs"
            time.sleep(0.01)
        eng.start(detached=True)
        b.write("CREATE (:Entity {title: 'after'})")  # not sent to the dead engine: sent again
        b.sync()  # on the connection that wrote
        rows = b.read("MATCH (e:Entity) RETURN e.title AS t ORDER BY t")
        assert rows == [{"t": "after"}, {"t": "kept"}]
        conn = b._local.conn
    finally:
        b.close()
        eng.stop()
    assert not conn.is_connected and len(b._conns) == 0


def test_a_broken_answer_is_asked_again_for_a_read_never_for_a_write(tmp_path: Path) -> None:
    """The connection breaks after the engine answered (as when it is killed while the
    answer is on its way): a read is sent again on a new socket and answers; a
    write is not (it was applied: sent again, it would create a second node), and the
    caller is told the engine stopped answering."""
    import redis

    path = tmp_path / "g"
    eng = EmbeddedEngine(path)
    eng.start(detached=True)
    b = FalkorBackend(str(path))

    def break_after_the_answer() -> None:
        conn = b._local.conn
        real = conn.read_response

        def read_response(*args: object, **kwargs: object) -> object:
            answer = real(*args, **kwargs)
            if conn.read_response is read_response:  # once: the socket after is sound
                del conn.read_response
                raise redis.ConnectionError("connection lost while reading the answer")
            return answer

        conn.read_response = read_response

    try:
        b.write("CREATE (:Entity {title: 'kept'})")
        break_after_the_answer()
        assert b.read("MATCH (e:Entity) RETURN e.title AS t") == [{"t": "kept"}]
        break_after_the_answer()
        with pytest.raises(GraphUnavailable, match="stopped answering"):
            b.write("CREATE (:Entity {title: 'once'})")
        rows = b.read("MATCH (e:Entity) RETURN e.title AS t ORDER BY t")
        assert rows == [{"t": "kept"}, {"t": "once"}]
    finally:
        b.close()
        eng.stop()
