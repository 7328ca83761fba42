"""The Lua runtime for health checks: Argo CD's contract, and a sandbox a check cannot leave.

Real lupa, no mocks. Every escape attempt must end as Unknown (or a refusal the script
sees), quickly, and leave the runtime usable for the next check.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.engine.health.rules.lua_runtime import MEMORY_LIMIT_BYTES, LuaScript, run_health_check
from reconciler.health import Health, HealthStatus

OBJ: dict[str, Any] = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "w", "namespace": "ns", "annotations": None},
    "spec": {"replicas": 3, "paused": False},
    "status": {"conditions": [{"type": "Ready", "status": "True", "message": "all good"}]},
}


def run(source: str, obj: dict[str, Any] | None = None) -> Health:
    return run_health_check(LuaScript(source, "test/health.lua"), OBJ if obj is None else obj)


def healthy_after(source: str) -> bool:
    """Whether the runtime still answers a plain check after `source` ran."""
    run(source)
    return run('return {status = "Healthy", message = obj.kind}') == Health(HealthStatus.Healthy, "Widget")


# --- Argo CD's contract -----------------------------------------------------------------------------


def test_script_sees_the_object_as_global_obj() -> None:
    script = """
    for _, c in ipairs(obj.status.conditions) do
      if c.type == "Ready" and c.status == "True" then
        return {status = "Healthy", message = c.message .. " x" .. obj.spec.replicas}
      end
    end
    return {status = "Progressing"}
    """
    assert run(script) == Health(HealthStatus.Healthy, "all good x3")


@pytest.mark.parametrize("status", [s.value for s in HealthStatus])
def test_every_argo_cd_status_is_accepted(status: str) -> None:
    assert run(f'return {{status = "{status}", message = "m"}}') == Health(HealthStatus(status), "m")


def test_a_status_outside_the_set_is_unknown_with_argo_cds_message() -> None:
    assert run('return {status = "Fine"}') == Health(HealthStatus.Unknown, "Lua returned an invalid health status")


def test_a_missing_message_is_empty() -> None:
    assert run('return {status = "Progressing"}') == Health(HealthStatus.Progressing, "")


def test_a_non_table_result_is_unknown() -> None:
    assert run("return 5") == Health(HealthStatus.Unknown, "expect table output from Lua script, not number")


def test_a_runtime_error_is_unknown_with_the_error_and_line() -> None:
    health = run("local x = obj.status.missing.field\nreturn {status = 'Healthy'}")
    assert health.status is HealthStatus.Unknown
    assert health.message.startswith("test/health.lua:1:") and "missing" in health.message


def test_a_syntax_error_is_unknown_naming_the_script() -> None:
    health = run("return {status = ")
    assert health.status is HealthStatus.Unknown
    assert "test/health.lua" in health.message and "does not compile" in health.message


def test_null_fields_read_as_nil() -> None:
    assert run('return {status = "Healthy", message = tostring(obj.metadata.annotations)}').message == "nil"


def test_globals_set_by_one_check_are_gone_in_the_next() -> None:
    run('leaked = "yes" return {status = "Healthy"}')
    assert run('return {status = "Healthy", message = tostring(leaked)}').message == "nil"


def test_checks_written_for_argo_cd_lua_5_1_idioms_run() -> None:
    # table.getn, unpack and goto all appear in Argo CD's own resource_customizations.
    script = """
    local n = table.getn(obj.status.conditions)
    local a, b = unpack({1, 2})
    for i = 1, 3 do
      if i == 2 then goto continue end
      ::continue::
    end
    local os = require("os")
    return {status = "Healthy", message = n .. a .. b .. tostring(os.time() > 0)}
    """
    assert run(script) == Health(HealthStatus.Healthy, "112true")


# --- the sandbox -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "refusal"),
    [
        ('os.execute("touch /tmp/reconciler-lua-escape")', "execute"),
        ('io.open("/etc/passwd")', "io"),
        ('require("io")', "require is not available"),
        ('dofile("/etc/passwd")', "dofile"),
        ('loadfile("/etc/passwd")', "loadfile"),
        ("debug.getinfo(1)", "debug"),
        ('package.loadlib("libc.so.6", "system")', "package"),
        ("string.dump(function() end)", "dump"),
        ("coroutine.create(function() end)", "coroutine"),
        ('python.eval("1")', "python"),
        ('collectgarbage("count")', "collectgarbage"),
        ('getmetatable("").__index.upper = nil', "index"),
        ("setmetatable({}, {__gc = function() while true do end end})", "__gc"),
    ],
)
def test_escape_attempts_are_refused_as_unknown(attempt: str, refusal: str) -> None:
    health = run(attempt + '\nreturn {status = "Healthy"}')
    assert health.status is HealthStatus.Unknown
    assert refusal in health.message
    assert not Path("/tmp/reconciler-lua-escape").exists()


def test_load_refuses_bytecode() -> None:
    script = 'local f, err = load("\\27Lua\\84\\0") return {status = "Degraded", message = tostring(err)}'
    health = run(script)
    assert health.status is HealthStatus.Degraded  # the script ran on, with load's refusal in hand
    assert "binary chunk" in health.message


def test_load_of_source_text_runs_inside_the_sandbox() -> None:
    script = 'local f = load("return tostring(io) .. tostring(os.execute)") return {status = "Healthy", message = f()}'
    assert run(script) == Health(HealthStatus.Healthy, "nilnil")


def test_the_string_library_keeps_working_after_an_attempt_to_change_it() -> None:
    assert healthy_after('string.upper = nil return {status = "Healthy"}')
    assert run('return {status = "Healthy", message = ("abc"):upper() .. string.upper("d")}').message == "ABCD"


@pytest.mark.parametrize(
    "loop",
    [
        "while true do end",
        "while true do pcall(function() while true do end end) end",
        "local function f() return f() end f()",
        "repeat local ok = pcall(error, 'x') until false",
    ],
)
def test_an_endless_loop_is_cut_off_quickly(loop: str) -> None:
    started = time.monotonic()
    health = run(loop)
    assert time.monotonic() - started < 2.0
    assert health.status is HealthStatus.Unknown
    assert "health check stopped" in health.message or "stack overflow" in health.message
    assert healthy_after("return {status = 'Healthy'}")


@pytest.mark.parametrize(
    "call",
    ['string.find(string.rep("a", 3000), ".-.-.-b")', 'string.rep("a", 3000):match(".-.-.-b")',
     'string.rep("x", 100000):gsub("x*y", "")', 'for _ in string.rep("x", 100000):gmatch("x*y") do end'],
)
def test_pattern_matching_that_could_backtrack_for_minutes_is_refused_at_once(call: str) -> None:
    # Matching runs in C, where the instruction budget cannot stop it: it is refused up front.
    started = time.monotonic()
    health = run(call + '\nreturn {status = "Healthy"}')
    assert time.monotonic() - started < 0.5
    assert health.status is HealthStatus.Unknown
    assert "could run too long for a health check" in health.message and health.message.startswith("test/health.lua:1:")


def test_ordinary_patterns_work_as_functions_and_methods() -> None:
    script = """
    local message = "rollout 3/5 replicas ready"
    local a, b = string.match(message, "(%d+)/(%d+)")
    local words = 0
    for _ in message:gmatch("%a+") do words = words + 1 end
    local masked = message:gsub("%d", "#")
    local plain = string.find(string.rep("x", 1000000) .. "needle", "needle", 1, true)
    return {status = "Healthy", message = a .. b .. words .. masked .. plain}
    """
    assert run(script) == Health(HealthStatus.Healthy, "353rollout #/# replicas ready1000001")


@pytest.mark.parametrize(
    "script",
    [
        "error(setmetatable({}, {__tostring = function() while true do end end}))",
        "return setmetatable({}, {__index = function() while true do end end})",
    ],
    ids=["error-object-tostring", "result-index"],
)
def test_metamethods_of_what_the_script_hands_back_never_run_outside_the_budget(script: str) -> None:
    started = time.monotonic()
    health = run(script)
    assert time.monotonic() - started < 2.0
    assert health.status is HealthStatus.Unknown


def test_a_one_gigabyte_string_is_refused_at_once() -> None:
    started = time.monotonic()
    health = run("local s = string.rep('x', 2^30) return {status = 'Healthy'}")
    assert time.monotonic() - started < 1.0
    assert health == Health(
        HealthStatus.Unknown,
        f"health check stopped: it used more than {MEMORY_LIMIT_BYTES // (1024 * 1024)} MiB of memory",
    )


def test_memory_grown_step_by_step_is_cut_off() -> None:
    health = run("local t = {} for i = 1, 1e9 do t[i] = string.rep('y', 1000) .. i end")
    assert health.status is HealthStatus.Unknown
    assert "health check stopped" in health.message
    assert healthy_after("return {status = 'Healthy'}")


def test_a_memory_error_caught_inside_the_script_is_the_scripts_business() -> None:
    script = "local ok = pcall(string.rep, 'x', 2^30) return {status = 'Degraded', message = tostring(ok)}"
    assert run(script) == Health(HealthStatus.Degraded, "false")


def test_compiled_scripts_are_cached() -> None:
    from reconciler.engine.health.rules.lua_runtime import _runtime

    script = LuaScript('return {status = "Healthy", message = "cached"}', "cache/health.lua")
    runtime = _runtime()
    first = runtime.compile(script)
    assert runtime.compile(LuaScript(script.source, script.origin)) is first
    # The same text from another file is compiled under that file's name, for its messages.
    assert runtime.compile(LuaScript(script.source, "elsewhere/health.lua")) is not first


def test_each_thread_runs_checks_in_its_own_runtime() -> None:
    import threading

    results: list[Health] = []
    threads = [
        threading.Thread(target=lambda: results.append(run('return {status = "Healthy", message = obj.kind}')))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [Health(HealthStatus.Healthy, "Widget")] * 4
