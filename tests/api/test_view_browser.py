"""The tree page in a real browser: headless Chromium (Debian's `chromium` package)
loads it from the live server, and the screenshot shows the drawn tree.

`.ci/run` installs Chromium; elsewhere the test is skipped unless
HCSP_REQUIRE_BROWSER=1 (then a missing browser is a failure).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from api.client import HcspClient

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("HCSP_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is not installed: apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return path


def test_tree_page_renders_in_chromium(live_server: str, tmp_path: Path) -> None:
    browser = chromium()
    with HcspClient(live_server) as c:
        item = c.request_questions(vertices=6, count=1, seed=8)[0]
    url = live_server + item["view_url"]
    base = [browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-500:]
    assert 'id="question"' in dom.stdout and item["answer"].replace("&", "&amp;") in dom.stdout
    assert dom.stdout.count('class="box ') == 6  # every vertex drawn

    shot = tmp_path / "tree.png"
    r = subprocess.run([*base, f"--screenshot={shot}", "--window-size=1200,900", url],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and shot.exists(), r.stderr[-500:]
    img = Image.open(shot).convert("RGB")
    assert img.size == (1200, 900)
    colors = img.getcolors(maxcolors=1_000_000) or []
    assert len(colors) > 50  # text and boxes, not a blank page
    pixels = {img.getpixel((x, y)) for x in range(0, 1200, 2) for y in range(0, 900, 2)}
    assert (0x35, 0x63, 0xE9) in pixels  # the question's and entities' blue borders
    assert (0xFF, 0xFA, 0xF0) in pixels  # the constraint boxes' background
    if os.environ.get("HCSP_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["HCSP_SCREENSHOT_DIR"]) / "tree.png")
