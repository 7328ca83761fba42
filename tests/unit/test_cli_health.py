"""`reconciler health -f OBJECT.yaml [--lua FILE]`, run as a user runs it: a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
ROLLOUT = FIXTURES / "health" / "rollout" / "no-status.yaml"
CERTIFICATE = FIXTURES / "health" / "certificate" / "ready.yaml"
LUA_DIR = FIXTURES / "lua_checks"


def reconciler(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_RESOURCE_CUSTOMIZATIONS")}
    exe = Path(sys.executable).with_name("reconciler")
    return subprocess.run(
        [str(exe), "health", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **(env or {})},
        input=stdin,
    )


def test_prints_the_built_in_verdict() -> None:
    out = reconciler("-f", str(ROLLOUT))
    expected = "STATUS: Progressing\nMESSAGE: Waiting for rollout spec update to be observed\n"
    assert (out.returncode, out.stdout) == (0, expected)


def test_reads_the_object_from_stdin() -> None:
    out = reconciler("-f", "-", stdin=CERTIFICATE.read_text())
    expected = "STATUS: Healthy\nMESSAGE: Certificate is up to date and has not expired\n"
    assert (out.returncode, out.stdout) == (0, expected)


def test_uses_the_configured_directory() -> None:
    out = reconciler("-f", str(CERTIFICATE), env={"RECONCILER_RESOURCE_CUSTOMIZATIONS_DIR": str(LUA_DIR)})
    assert (out.returncode, out.stdout) == (0, "STATUS: Suspended\nMESSAGE: directory check for Certificate shop-tls\n")


def test_lua_option_runs_only_the_given_script(tmp_path: Path) -> None:
    script = tmp_path / "health.lua"
    script.write_text('return {status = "Degraded", message = "replicas " .. obj.spec.replicas}')
    out = reconciler("-f", str(ROLLOUT), "--lua", str(script), "-o", "json")
    assert out.returncode == 0
    assert json.loads(out.stdout) == {"status": "Degraded", "message": "replicas 3"}


def test_a_failing_script_is_an_unknown_verdict_not_a_failure(tmp_path: Path) -> None:
    script = tmp_path / "health.lua"
    script.write_text("while true do end")
    out = reconciler("-f", str(ROLLOUT), "--lua", str(script))
    assert out.returncode == 0
    assert out.stdout.startswith("STATUS: Unknown\nMESSAGE: health check stopped")


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "cannot read the object"),
        ("a: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "not a Kubernetes object"),
        ("kind: Pod\n---\nkind: Pod\n", "expected one object, found 2"),
    ],
)
def test_an_unusable_object_file_exits_1_with_the_reason(tmp_path: Path, content: str | None, error: str) -> None:
    path = tmp_path / "object.yaml"
    if content is not None:
        path.write_text(content)
    out = reconciler("-f", str(path))
    assert out.returncode == 1
    assert out.stdout == ""
    assert error in out.stderr and str(path) in out.stderr


def test_an_unreadable_lua_file_exits_1(tmp_path: Path) -> None:
    out = reconciler("-f", str(ROLLOUT), "--lua", str(tmp_path / "missing.lua"))
    assert out.returncode == 1
    assert "cannot read the Lua script" in out.stderr
