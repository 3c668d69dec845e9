"""Bad input: cut and corrupt dumps, malformed pages, non-dumps, unreachable URLs, and
processes killed in the middle of an ingest. Nothing may be lost or duplicated."""

from __future__ import annotations

import bz2
import functools
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph import store
from graph.backend import FalkorBackend
from graph.embedded import EmbeddedEngine
from ingest.dump import DumpReader
from ingest.errors import DumpError, SourceError
from ingest.pipeline import IngestConfig, ingest_dump
from tests.conftest import ENWIKI, ENWIKI_10K, LTGWIKI

HCSP = [sys.executable, "-m", "hcsp.cli"]


def fresh(tmp: Path) -> FalkorBackend:
    return FalkorBackend(str(tmp / "graph"))


def cfg(tmp: Path, **kw: object) -> IngestConfig:
    return IngestConfig(staging_root=tmp / "staging", **kw)  # type: ignore[arg-type]


@functools.cache
def clean_stats(source: str) -> dict[str, object]:
    """Counts after one uninterrupted ingest of ``source`` into an empty graph."""
    import tempfile

    tmp = Path(tempfile.mkdtemp())
    b = fresh(tmp)
    try:
        ingest_dump(source, b, cfg(tmp))
        return _comparable(store.graph_stats(b).as_dict())
    finally:
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _comparable(d: dict[str, object]) -> dict[str, object]:
    d = dict(d)
    d.pop("dumps")
    return d


# -- cut dumps ----------------------------------------------------------------------------
@pytest.mark.parametrize("resume", [False, True], ids=["rerun", "resume"])
def test_cut_bz2_keeps_pages_read_and_recovers(tmp_path: Path, resume: bool) -> None:
    dump = tmp_path / "enwiki.xml.bz2"
    data = ENWIKI.read_bytes()
    dump.write_bytes(data[: len(data) * 6 // 10])
    b = fresh(tmp_path)
    try:
        with pytest.raises(DumpError) as info:
            ingest_dump(str(dump), b, cfg(tmp_path))
        err = info.value
        assert "compressed stream ends early" in err.message
        assert err.last_title and f"'{err.last_title}'" in err.message
        assert "rerun" in (err.hint or "")
        partial = err.report  # type: ignore[attr-defined]
        assert 0 < partial.pages_read < 206 and partial.error
        # Every page read before the cut is in the graph, with its links.
        assert store.entity(b, err.last_title) is not None or partial.articles > 0
        stats = store.graph_stats(b)
        assert stats.entities - stats.stubs == partial.articles > 0
        assert stats.links > 0

        shutil.copy(ENWIKI, dump)  # the user fixes the file
        report = ingest_dump(str(dump), b, cfg(tmp_path, resume=resume))
        if resume:
            assert report.resumed_from == partial.pages_read
            assert report.skipped["done_before_resume"] == partial.pages_read
        assert _comparable(store.graph_stats(b).as_dict()) == clean_stats(str(ENWIKI))
    finally:
        b.close()


def test_cut_xml_names_the_last_page(tmp_path: Path) -> None:
    xml = bz2.decompress(ENWIKI_10K.read_bytes())
    dump = tmp_path / "cut.xml"
    dump.write_bytes(xml[: len(xml) // 2])
    b = fresh(tmp_path)
    try:
        with pytest.raises(DumpError, match=r"XML is cut or malformed.*last page read: '") as info:
            ingest_dump(str(dump), b, cfg(tmp_path))
        pages = info.value.pages_read
        assert pages > 10
        with DumpReader(str(ENWIKI_10K)) as r:
            expected_last = [p.title for p in r.pages()][pages - 1]
        assert info.value.last_title == expected_last
    finally:
        b.close()


# -- malformed pages ------------------------------------------------------------------------
MALFORMED = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" xml:lang="en">
<siteinfo><sitename>T</sitename><dbname>testwiki</dbname>
<namespaces><namespace key="0" /><namespace key="14">Category</namespace></namespaces>
</siteinfo>
<page><title>Good one</title><ns>0</ns><id>1</id><revision><text>'''Good one''' is linked
to [[Good two]]. [[Category:Tests]]</text></revision></page>
<page><ns>0</ns><id>2</id><revision><text>no title at all</text></revision></page>
<page><title>Bad [title]</title><ns>0</ns><id>3</id><revision><text>x</text></revision></page>
<page><title>No namespace</title><id>4</id><revision><text>x</text></revision></page>
<page><title>Deleted text</title><ns>0</ns><id>5</id><revision>
<text deleted="deleted" /></revision></page>
<page><title>Empty</title><ns>0</ns><id>6</id><revision><text /></revision></page>
<page><title>Self</title><ns>0</ns><id>7</id><redirect title="Self" />
<revision><text>#REDIRECT [[Self]]</text></revision></page>
<page><title>Broken markup</title><ns>0</ns><id>8</id><revision><text>{{Infobox x|a=[[B
|c={{{{{{ ]] [[Good one]] is here. &lt;ref&gt; never closed</text></revision></page>
<page><title>Good two</title><ns>0</ns><id>9</id><revision><text>'''Good two''' is
short.</text></revision></page>
</mediawiki>
"""


def test_malformed_pages_are_skipped_with_reasons(tmp_path: Path) -> None:
    dump = tmp_path / "malformed.xml"
    dump.write_text(MALFORMED)
    b = fresh(tmp_path)
    try:
        report = ingest_dump(str(dump), b, cfg(tmp_path))
        assert report.pages_read == 9
        assert report.skipped == {
            "malformed:no_title": 1, "malformed:bad_title": 1, "malformed:no_namespace": 1,
            "malformed:no_text": 1, "empty": 1, "malformed:redirect_to_self": 1}
        assert report.articles == 3
        assert [lk["target"] for lk in store.links(b, "Good one")] == ["Good two"]
        assert store.categories(b, "Good one") == ["Tests"]
        assert store.entity(b, "Broken markup")["stub"] is False
    finally:
        b.close()


# -- not a dump, no such file, no network -----------------------------------------------------
@pytest.mark.parametrize(("content", "message"), [
    (b"<html><body>Not found</body></html>",
     "not a MediaWiki XML dump: its root element is <html>"),
    (b"BZh9 this is not really bzip2 data at all", "cannot be decompressed"),
    (b"", "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a MediaWiki XML dump: it is not XML"),
])
def test_not_a_dump(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "file.xml"
    path.write_bytes(content)
    with pytest.raises(DumpError, match=message), DumpReader(str(path)) as r:
        list(r.pages())


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        DumpReader(str(tmp_path / "nope.xml.bz2")).open()
    with pytest.raises(SourceError, match="is a folder"):
        DumpReader(str(tmp_path)).open()


def test_unreachable_url() -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    with pytest.raises(SourceError, match=r"cannot reach http://127\.0\.0\.1:9/"):
        DumpReader("http://127.0.0.1:9/enwiki.xml.bz2", timeout=5).open()


@pytest.fixture
def http_dumps() -> Iterator[str]:
    """The shared dumps served over HTTP on loopback."""
    handler = functools.partial(_QuietHandler, directory=str(LTGWIKI.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_url_is_streamed(tmp_path: Path, http_dumps: str) -> None:
    b = fresh(tmp_path)
    try:
        report = ingest_dump(f"{http_dumps}/{LTGWIKI.name}", b, cfg(tmp_path))
        assert report.articles == 903
        assert report.bytes_read == LTGWIKI.stat().st_size
        with pytest.raises(SourceError, match="HTTP 404"):
            DumpReader(f"{http_dumps}/missing.xml.bz2").open()
    finally:
        b.close()


# -- processes killed in the middle ----------------------------------------------------------
def _cli_env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "HCSP_GRAPH_URI": str(tmp / "graph"), "PYTHONUNBUFFERED": "1"}


def _start_ingest(tmp: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*HCSP, "ingest", str(LTGWIKI), "--staging", str(tmp / "staging"),
         "--batch-size", "25", "--checkpoint-every", "25", *extra],
        env=_cli_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(tmp: Path, proc: subprocess.Popen[bytes], phase: str) -> None:
    """Wait until the ingest has saved a resume point in ``phase``."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        for state in (tmp / "staging").glob("*/state.json"):
            try:
                cp = json.loads(state.read_text())
            except (OSError, ValueError):
                continue
            if cp["phase"] == phase and cp["pages_done"] > 0:
                return
        time.sleep(0.002)
    raise AssertionError(f"no resume point in phase {phase}; exit code {proc.poll()}")


def _resume(tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HCSP, "ingest", str(LTGWIKI), "--staging", str(tmp / "staging"),
                           "--resume"], env=_cli_env(tmp), capture_output=True, text=True,
                          timeout=300)


def _stats_after(tmp: Path) -> dict[str, object]:
    b = FalkorBackend(str(tmp / "graph"))
    try:
        return _comparable(store.graph_stats(b).as_dict())
    finally:
        b.close()
        EmbeddedEngine(tmp / "graph").stop()


@pytest.mark.parametrize("phase", ["reading", "loading"])
def test_killed_ingest_resumes_without_loss_or_duplicates(tmp_path: Path, phase: str) -> None:
    # --no-bulk: batched MERGEs, so that a kill while loading leaves a half-written graph.
    proc = _start_ingest(tmp_path, "--no-bulk")
    _wait_for(tmp_path, proc, phase)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = _resume(tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after page" in resumed.stderr
    assert _stats_after(tmp_path) == clean_stats(str(LTGWIKI))


def test_killed_engine_is_reported_and_the_rerun_completes(tmp_path: Path) -> None:
    proc = _start_ingest(tmp_path, "--no-bulk")
    _wait_for(tmp_path, proc, "loading")
    engine = EmbeddedEngine(tmp_path / "graph")
    pid = engine.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # the database crashes while the graph is being written
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err.decode(errors="replace")
    assert b"stopped answering" in err and b"Traceback" not in err
    # The rerun restarts the engine, which replays its append-only file, and finishes.
    resumed = _resume(tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert _stats_after(tmp_path) == clean_stats(str(LTGWIKI))


def test_a_second_ingest_into_the_same_graph_is_refused(tmp_path: Path) -> None:
    proc = _start_ingest(tmp_path)
    _wait_for(tmp_path, proc, "reading")
    second = subprocess.run([*HCSP, "ingest", str(ENWIKI)], env=_cli_env(tmp_path),
                            capture_output=True, text=True, timeout=120)
    proc.wait(timeout=120)
    assert second.returncode == 3
    assert "another process is running ingest into" in second.stderr
    assert proc.returncode == 0
    assert _stats_after(tmp_path) == clean_stats(str(LTGWIKI))
