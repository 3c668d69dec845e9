"""A real Wikipedia dump that any machine with PyPI access can obtain.

The gensim wheel on PyPI ships a real slice of English Wikipedia (206 pages, 106
articles: Anarchism, Autism, Abraham Lincoln, ...) as test data. ``hcsp ingest
sample:enwiki`` downloads that wheel with pip (no Wikimedia access needed), extracts
the dump, checks its SHA-256, and ingests it.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ingest.errors import SourceError

SAMPLE_SOURCES = {"sample:enwiki"}
GENSIM = "gensim==4.4.0"
MEMBER = ("gensim/test/test_data/"
          "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
SHA256 = "a53f4648dec40467ebdcbc7a1307eddb51fe6e28e9309f6ebde81ba0d04bea2d"
FILENAME = "enwiki-sample-206.xml.bz2"


def is_sample(source: str) -> bool:
    """True when ``source`` names a bundled sample rather than a file or URL."""
    return source in SAMPLE_SOURCES


def fetch_enwiki_sample(dest_dir: Path) -> Path:
    """Return the path of the enwiki sample dump, downloading it once if needed."""
    dest = Path(dest_dir) / FILENAME
    if dest.exists() and _sha256(dest) == SHA256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", GENSIM, "--no-deps",
               "--only-binary=:all:", "--quiet", "-d", tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("gensim-*.whl"))
        if proc.returncode != 0 or not wheels:
            raise SourceError(f"could not download {GENSIM} from the package index: "
                              f"{(proc.stderr or proc.stdout).strip()[-300:]}",
                              hint="check access to PyPI, or pass the path of a dump file")
        with zipfile.ZipFile(wheels[0]) as zf, zf.open(MEMBER) as src:
            data = src.read()
    if hashlib.sha256(data).hexdigest() != SHA256:
        raise SourceError(f"the dump inside {GENSIM} is not the expected file (SHA-256 differs)",
                          hint="pass the path of a dump file instead")
    tmp_dest = dest.with_suffix(".part")
    tmp_dest.write_bytes(data)
    tmp_dest.replace(dest)
    return dest


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
