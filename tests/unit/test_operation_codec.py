"""The operation's JSON form in Redis: versioned, older versions read, unknown ones refused."""

from __future__ import annotations

import pytest

from reconciler.control.sync.codec import OPERATION_VERSION, UnreadableOperation, from_record, to_record
from reconciler.control.sync.operation import (
    ApplyStep,
    HealthStep,
    HookRecord,
    HooksStep,
    ObjectRef,
    Operation,
    OperationState,
    ResourceResult,
    Teardown,
)
from reconciler.model.operation import HookPhase, HookType, OperationPhase, ResultCode

CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "shop"}}


def operation() -> Operation:
    return Operation(
        id="op-1",
        app="shop",
        request={"app": "shop", "trigger": "user"},
        revision="abc",
        steps=(
            ApplyStep(wave=0, objects=(CONFIG_MAP,)),
            HooksStep(phase=HookType.SYNC, wave=0, hooks=(0,)),
            HealthStep(wave=0, refs=(ObjectRef.of(CONFIG_MAP),), hooks=(0,)),
        ),
        hooks=(HookRecord(id=0, phase=HookType.SYNC, kind="Job", name="smoke", obj={"kind": "Job"}),),
        results=(ResourceResult(resource="ConfigMap shop/a", status=ResultCode.SYNCED, message="applied"),),
        started_at=12.5,
    )


def test_an_operation_round_trips_through_its_record() -> None:
    op = operation()
    record = to_record(op)
    assert record["version"] == OPERATION_VERSION
    assert from_record(record) == op


def test_the_record_keeps_the_camel_case_keys_redis_always_had() -> None:
    record = to_record(operation())
    assert {"startedAt", "syncFailSteps", "confirmPrune", "chainFrom"} <= set(record)
    assert record["steps"][0]["type"] == "apply" and record["steps"][0]["objects"] == [CONFIG_MAP]
    assert record["hooks"][0]["deletePolicies"] == [] and record["hooks"][0]["status"] == "Pending"
    assert record["results"][0] == {"resource": "ConfigMap shop/a", "status": "Synced", "message": "applied"}


def test_a_version_1_operation_stored_before_the_upgrade_is_read_and_carries_on() -> None:
    old = {
        "id": "op-0", "app": "shop", "step": 1, "startedAt": 3.0,
        "steps": [
            {"type": "apply", "wave": 0, "objects": [CONFIG_MAP], "track": True, "hooks": []},
            {"type": "apply", "wave": 0, "phase": "PreSync", "objects": [], "track": True, "hooks": [0]},
            {"type": "health", "wave": 0, "phase": "PreSync", "refs": [], "hooks": [0], "since": None},
            {"type": "prune", "wave": 0, "targets": [{"group": "", "kind": "ConfigMap", "namespace": "shop",
                                                      "name": "old", "uid": "u"}]},
            {"type": "finish"},
        ],
        "hooks": [{"id": 0, "phase": "PreSync", "wave": 0, "apiVersion": "batch/v1", "kind": "Job",
                   "namespace": "shop", "name": "migrate", "generateName": "", "deletePolicies": ["HookSucceeded"],
                   "status": "Running", "message": "created", "obj": {"kind": "Job"}}],
        "skipped": [{"resource": "ConfigMap shop/kept", "message": "pruning is disabled"}],
        "results": [], "chainFrom": 0,
    }
    op = from_record(old)
    assert op.step == 1 and op.chain_from == 0
    assert [s.type.value for s in op.steps] == ["apply", "hooks", "health", "prune", "finish"]
    hooks_step = op.steps[1]
    assert isinstance(hooks_step, HooksStep) and hooks_step.phase == HookType.PRE_SYNC and hooks_step.hooks == (0,)
    assert op.hooks[0].status == HookPhase.RUNNING and op.hooks[0].delete_policies == ("HookSucceeded",)
    assert op.skipped[0].status == ResultCode.PRUNE_SKIPPED


def test_the_stub_an_ended_operation_leaves_is_read() -> None:
    op = from_record({"id": "op-1", "app": "shop", "step": -1, "steps": [], "ended": "Succeeded"})
    assert op.ended == OperationPhase.SUCCEEDED and op.steps == ()


def test_a_version_this_release_does_not_know_is_refused_by_name() -> None:
    with pytest.raises(UnreadableOperation, match=r"operation 'op-9' was stored in version 7.*newer release"):
        from_record({"version": 7, "id": "op-9", "steps": []})


def test_a_record_that_is_not_an_operation_is_refused_naming_the_field() -> None:
    with pytest.raises(UnreadableOperation, match=r"steps\.0"):
        from_record({"version": 2, "id": "op-9", "steps": [{"type": "teleport"}]})


def test_the_visible_state_leaves_out_what_is_not_set() -> None:
    state = OperationState(id="op-1", phase=OperationPhase.SUCCEEDED, message="ok", started_at=1.0)
    assert state.to_json() == {"id": "op-1", "phase": "Succeeded", "message": "ok", "trigger": "", "startedAt": 1.0,
                               "revision": "", "retryCount": 0, "resources": [], "hooks": []}


def test_a_hooks_public_view_has_no_manifest() -> None:
    record = HookRecord(id=0, phase=HookType.SYNC, kind="Job", name="x", obj={"kind": "Job", "secret": "s"})
    assert "obj" not in record.public().to_json() and "policyGiven" not in record.public().to_json()


def test_a_deletes_result_answers_with_the_rest_apis_keys() -> None:
    result = Teardown(resources=("ConfigMap shop/a",), post_delete_hooks=("PostDelete hook Job shop/x: Succeeded",))
    assert result.to_json() == {"resources": ["ConfigMap shop/a"], "skipped": [], "failed": [], "children": [],
                                "postDeleteHooks": ["PostDelete hook Job shop/x: Succeeded"], "preDeleteHooks": []}
