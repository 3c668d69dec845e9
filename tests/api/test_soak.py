"""bench/soak.py for 15 s (CI's length; by hand it runs 60 s): 200 clients on
127.0.0.1 against `hcsp serve` on the ltgwiki graph while its engine is SIGKILLed twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DATA, ROOT


def test_soak_under_engine_kills(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    env = {**os.environ, "HCSP_SHARED_DATA": str(DATA.parent)}
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "soak.py"), "--seconds", "15",
                        "--json", str(out)], capture_output=True, text=True, timeout=300,
                       env=env, cwd=ROOT)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads(out.read_text())
    assert res["passed"] and set(res["statuses"]) <= {"200", "422", "503"}
    assert res["no_retry_after"] == 0 and res["lost"] == []
    assert res["stored_after"] >= res["stored_before"] > 0
    assert len(res["kills"]) == 2 and all(k["recovered_s"] < 5 for k in res["kills"])
    assert res["engines_running"] == 1 and res["engines_after"] == 0
    assert res["requests"] > 200
    out.unlink()
