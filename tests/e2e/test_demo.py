"""`make demo`, headless: every step of the demo flow, as a newcomer sees it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.state.redis_server import free_port


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_demo_flow_reaches_synced_healthy_and_applies_a_pushed_image_tag(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler.cli.demo", "--headless", "--port", str(free_port()),
         "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=280, check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "2. worker, beat, watcher, API" in out and "and Flower" in out
    assert "3. Git repository" in out and "seed's layout" in out
    assert "4. root app registered" in out
    table = out.split("every app Synced and Healthy", 1)[1].split("5. ", 1)[0]
    for app in ("api", "infrastructure", "root", "worker"):
        assert re.search(rf"^{app}\s+default\s+Synced\s+Healthy", table, re.MULTILINE), table
    assert ("infrastructure/sealed-secrets: CustomResourceDefinition sealedsecrets.bitnami.com Synced, "
            "SealedSecret registry-credentials Synced") in out
    assert re.search(r"webhook answered 202: .*\"queued\":\[\"api\"\]", out)
    assert re.search(r"6\. new revision applied to the cluster [0-9.]+s after the push", out)
    assert "7. rollout finished: api Synced and Healthy" in out
    # The apps are subscribed to a local webhook receiver, which prints what it receives.
    after = re.search(r"CI pushed api@\w+ \((\w+)\)", out).group(1)  # type: ignore[union-attr]
    assert re.search(rf"notification received: \{{'app': 'api', 'health': '\w+', 'revision': '{after}\w*'", out), out
    assert f"8. the local webhook receiver got the notification of api@{after}" in out
    assert "stopping every process the demo started" in out
    # Nothing the demo started is left running.
    pids = [int(line) for line in (tmp_path / "pids").read_text().split()]
    assert len(pids) == 6  # kubesim, worker, beat, watch, api, flower
    assert [pid for pid in pids if Path(f"/proc/{pid}").exists()] == []
