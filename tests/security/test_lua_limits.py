"""Issue 22, case 4: a Lua health check cannot escape its budget in C. `string.rep` of an empty
string, patterns whose `?` quantifiers backtrack, and C work that adds up between two looks of
the instruction hook each end in an Unknown verdict with the reason, within the budget, in a poll
and in the watcher alike.

The live object is the attacker's (a repository writer chooses what its objects hold); the check
is the operator's (RECONCILER_RESOURCE_CUSTOMIZATIONS_DIR), written without malice but run on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.engine.health.rules.lua_runtime import LuaScript, run_health_check
from reconciler.health import HealthStatus
from tests.security.conftest import Up, application, running_up, text_of, wait_for

# string.rep's C loop runs 2^40 times even for "": twenty minutes of a worker, nothing to allocate.
REPEATS_NOTHING = 'local s = string.rep("", 2^40)\nreturn {status = "Healthy"}'
# 40 optional "a"s then 40 "a"s, on 40 "a"s: Lua's matcher backtracks through 2^40 ways in C.
OPTIONAL_QUANTIFIERS = (
    'local s = string.rep("a", 40)\n'
    'local found = string.match(s, string.rep("a?", 40) .. string.rep("a", 40))\n'
    'return {status = "Healthy", message = tostring(found)}'
)
# Each gsub stays under the per-call guard (30,000^2 steps), but three of them cost seconds of C.
ADDS_UP_IN_C = (
    'for i = 1, 3 do local s = string.rep("x", 31000):gsub("x*y", "") end\n'
    'return {status = "Healthy"}'
)


def verdict(source: str, obj: dict[str, Any] | None = None) -> tuple[HealthStatus, str]:
    health = run_health_check(LuaScript(source, "checks/health.lua"), obj or {"kind": "Widget"})
    return health.status, health.message


@pytest.mark.timeout(30)  # the old runtime would spin in C for many minutes: the timeout fails it
@pytest.mark.parametrize("call", ['string.rep("", 2^40)', '(""):rep(2^40)', 'string.rep("", 2^40, "")'])
def test_string_rep_of_an_empty_string_with_a_huge_count_is_unknown_with_the_reason(call: str) -> None:
    status, message = verdict(f"local s = {call}\nreturn {{status = 'Healthy'}}")
    assert status is HealthStatus.Unknown
    assert message.startswith("checks/health.lua:1:") and "string.rep of 1099511627776 copies" in message


@pytest.mark.timeout(30)
def test_a_pattern_of_question_mark_quantifiers_that_would_backtrack_for_hours_is_unknown() -> None:
    status, message = verdict(OPTIONAL_QUANTIFIERS)
    assert status is HealthStatus.Unknown
    assert "could run too long for a health check" in message and '"a?a?a?' in message


@pytest.mark.timeout(30)
def test_c_work_that_adds_up_past_the_budget_is_stopped_by_the_sandbox_process() -> None:
    # Run in this process (judge), the check takes several seconds and then says Healthy: the
    # hook looks at the clock only between Lua instructions. The sandbox process is killed at the budget.
    status, message = verdict(ADDS_UP_IN_C)
    assert (status, message) == (HealthStatus.Unknown, "health check stopped: it ran longer than 1.0 s")
    assert verdict("return {status = 'Progressing', message = 'next check runs'}") == (
        HealthStatus.Progressing, "next check runs")


@pytest.fixture(scope="module")
def checked_up(module_kubesim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """`reconciler up` (worker, watcher, API) whose ConfigMaps are judged by a check that meets
    string.rep("", 2^40) whenever the object asks for it."""
    tmp = tmp_path_factory.mktemp("lua")
    checks = tmp / "customizations" / "ConfigMap"
    checks.mkdir(parents=True)
    (checks / "health.lua").write_text(
        'if obj.data and obj.data.times then string.rep("", tonumber(obj.data.times)) end\n'
        'return {status = "Healthy", message = "checked"}\n'
    )
    env = {"RECONCILER_RESOURCE_CUSTOMIZATIONS_DIR": str(tmp / "customizations")}
    with running_up(tmp, module_kubesim.url, env) as system:
        yield system


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_an_object_that_drives_its_check_into_a_c_loop_is_unknown_with_the_reason_and_the_poll_completes(
    checked_up: Up,
) -> None:
    bait = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bait}\ndata: {times: '1099511627776'}\n"
    plain = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {k: v}\n"
    repo = checked_up.repo("lua", {"app/bait.yaml": bait, "app/plain.yaml": plain})
    assert checked_up.create(application("lua", repo.url, path="app")).status_code == 201

    def judged() -> dict[str, Any]:
        resources = {r.get("name"): r for r in checked_up.app("lua").get("resources") or []}
        health = (resources.get("bait") or {}).get("health") or {}
        return resources if health.get("status") == "Unknown" else {}

    resources = wait_for(judged, 90, "the bait ConfigMap to be judged Unknown")
    assert "string.rep of 1099511627776 copies" in text_of(resources["bait"]["health"])
    assert resources["plain"]["health"] == {"status": "Healthy", "message": "checked"}
    app = checked_up.app("lua")
    assert app["sync"] == "Synced" and app["health"] == "Unknown"
