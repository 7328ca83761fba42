"""Compiling a sync plan into an operation's steps (a pure function: no Redis, no cluster)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.control.sync.compile import APPLY_CHUNK, compile_delete, compile_sync
from reconciler.control.sync.operation import (
    ApplyStep,
    DeleteChildrenStep,
    DeleteResourcesStep,
    DeregisterStep,
    FinishStep,
    HealthStep,
    HooksStep,
    PrunedStep,
    PruneStep,
    Step,
    StepKind,
)
from reconciler.engine.hooks import split_hooks
from reconciler.engine.plan import build_plan
from reconciler.model.operation import HookPhase, HookType
from reconciler.model.resources import ResourceKey
from tests.unit.test_plan import crd, make_app, missing, namespace, obj


def hook(kind: str, name: str, phase: str, wave: str | None = None, **annotations: str) -> dict[str, Any]:
    notes = {"argocd.argoproj.io/hook": phase, **annotations}
    if wave is not None:
        notes["argocd.argoproj.io/sync-wave"] = wave
    return {"apiVersion": "batch/v1", "kind": kind, "metadata": {"name": name, "namespace": "demo",
                                                                 "annotations": notes}}


def compiled(objects: list[dict[str, Any]], **plan_options: Any) -> Any:
    app = make_app()
    resources, hooks = split_hooks(objects)
    plan = build_plan(app, resources, missing(resources), hooks=hooks, **plan_options)
    return compile_sync(app, plan, {}, resources)


def kinds(steps: list[Step]) -> list[str]:
    return [step.type.value for step in steps]


def names(step: Step) -> list[str]:
    assert isinstance(step, ApplyStep)
    return [o["metadata"]["name"] for o in step.objects]


def test_a_plain_sync_in_one_wave_applies_and_finishes_without_waiting_for_health() -> None:
    out = compiled([obj("ConfigMap", "a"), obj("Service", "b")])
    assert kinds(out.steps) == ["apply", "finish"]
    assert names(out.steps[0]) == ["a", "b"]
    assert out.hooks == [] and out.sync_fail_steps == []


def test_each_wave_but_the_last_is_followed_by_a_health_wait_over_its_objects() -> None:
    out = compiled([obj("ConfigMap", "first", wave="-1"), obj("ConfigMap", "second"),
                    obj("ConfigMap", "last", wave="3")])
    assert kinds(out.steps) == ["apply", "health", "apply", "health", "apply", "finish"]
    waits = [step for step in out.steps if isinstance(step, HealthStep)]
    assert [(w.wave, [r.name for r in w.refs]) for w in waits] == [(-1, ["first"]), (0, ["second"])]


def test_a_large_wave_is_applied_in_chunks() -> None:
    out = compiled([obj("ConfigMap", f"cm-{i:03}") for i in range(APPLY_CHUNK + 5)])
    applies = [step for step in out.steps if isinstance(step, ApplyStep)]
    assert [len(step.objects) for step in applies] == [APPLY_CHUNK, 5]


def test_custom_resources_wait_for_their_crd_to_be_served_within_the_wave() -> None:
    out = compiled([crd("example.com", "Widget"), obj("Widget", "w", api_version="example.com/v1")])
    assert kinds(out.steps) == ["apply", "health", "apply", "finish"]
    wait = out.steps[1]
    assert isinstance(wait, HealthStep) and [r.kind for r in wait.refs] == ["CustomResourceDefinition"]


def test_hooks_run_in_their_phases_around_the_sync_waves() -> None:
    out = compiled([
        obj("ConfigMap", "app"),
        hook("Job", "migrate", "PreSync"),
        hook("Job", "between", "Sync"),
        hook("Job", "smoke", "PostSync"),
        hook("Job", "cleanup", "SyncFail"),
    ])
    assert kinds(out.steps) == ["hooks", "health", "apply", "hooks", "health", "health", "hooks", "health", "finish"]
    assert kinds(out.sync_fail_steps) == ["hooks", "health"]
    pre, _, _, sync_hooks, _, post_wait, post, _, _ = out.steps
    assert isinstance(pre, HooksStep) and pre.phase == HookType.PRE_SYNC
    assert isinstance(sync_hooks, HooksStep) and sync_hooks.phase == HookType.SYNC
    # PostSync waits for every desired resource to be healthy first, then its hooks run.
    assert isinstance(post_wait, HealthStep) and [r.name for r in post_wait.refs] == ["app"]
    assert isinstance(post, HooksStep) and post.phase == HookType.POST_SYNC
    records = {r.name: r for r in out.hooks}
    assert [records[n].phase for n in ("migrate", "between", "smoke", "cleanup")] == [
        HookType.PRE_SYNC, HookType.SYNC, HookType.POST_SYNC, HookType.SYNC_FAIL]
    assert all(r.status == HookPhase.PENDING for r in out.hooks)
    assert [r.id for r in out.hooks] == list(range(len(out.hooks)))


def test_the_namespace_hooks_live_in_is_applied_before_the_presync_hooks() -> None:
    out = compiled([namespace("demo"), obj("ConfigMap", "app"), hook("Job", "migrate", "PreSync")])
    assert kinds(out.steps)[:3] == ["apply", "hooks", "health"]
    assert names(out.steps[0]) == ["demo"]
    assert "demo" not in [n for step in out.steps[1:] if isinstance(step, ApplyStep) for n in names(step)]


def test_create_namespace_comes_first_untracked() -> None:
    app = make_app(options=("CreateNamespace=true",))
    plan = build_plan(app, [obj("ConfigMap", "a")], missing([obj("ConfigMap", "a")]))
    out = compile_sync(app, plan, {})
    first = out.steps[0]
    assert isinstance(first, ApplyStep) and not first.track and names(first) == ["demo"]


def test_prunes_carry_the_uid_of_the_object_the_plan_saw() -> None:
    from reconciler.engine.diff.resource_diff import diff_resource

    app = make_app()
    live = obj("ConfigMap", "old")
    live["metadata"]["uid"] = "u-1"
    key = ResourceKey.of(live)
    plan = build_plan(app, [], [diff_resource(key, None, live)], prune=True)
    out = compile_sync(app, plan, {key: live})
    prune = out.steps[0]
    assert isinstance(prune, PruneStep)
    assert [(t.name, t.uid, t.api_version) for t in prune.targets] == [("old", "u-1", "v1")]
    assert isinstance(out.steps[-1], FinishStep)


def test_compiling_does_not_change_the_plan() -> None:
    app = make_app()
    objects = [namespace("demo"), obj("ConfigMap", "app")]
    resources, hooks = split_hooks([*objects, hook("Job", "migrate", "PreSync")])
    plan = build_plan(app, resources, missing(resources), hooks=hooks)
    before = json.dumps([w.apply for w in plan.waves])
    compile_sync(app, plan, {}, resources)
    assert json.dumps([w.apply for w in plan.waves]) == before


def test_a_hook_remembers_whether_its_delete_policy_was_written() -> None:
    out = compiled([hook("Job", "given", "PreSync", **{"argocd.argoproj.io/hook-delete-policy": "HookSucceeded"}),
                    hook("Job", "default", "PreSync")])
    records = {r.name: r for r in out.hooks}
    assert records["given"].policy_given and records["given"].delete_policies == ("HookSucceeded",)
    assert not records["default"].policy_given and records["default"].delete_policies == ("BeforeHookCreation",)


def test_an_app_delete_runs_predelete_hooks_children_resources_postdelete_hooks_then_deregisters() -> None:
    _, hooks = split_hooks([hook("Job", "backup", "PreDelete"), hook("Job", "cleanup", "PostDelete")])
    pre = [h for h in hooks if "PreDelete" in h.phases]
    post = [h for h in hooks if "PostDelete" in h.phases]
    out = compile_delete(pre, post, children=["child"], deadline=100.0)
    assert kinds(out.steps) == ["hooks", "health", "delete-children", "delete-resources", "hooks", "health",
                                "deregister"]
    waits = [step for step in out.steps if isinstance(step, HealthStep)]
    assert all(w.every_hook and w.deadline == 100.0 for w in waits)
    assert isinstance(out.steps[2], DeleteChildrenStep) and out.steps[2].children == ("child",)
    assert [(r.name, r.phase) for r in out.hooks] == [
        ("backup", HookType.PRE_DELETE), ("cleanup", HookType.POST_DELETE)]


def test_an_app_delete_without_hooks_or_children_deletes_resources_and_deregisters() -> None:
    out = compile_delete([], [], children=[], deadline=0.0)
    assert [type(s) for s in out.steps] == [DeleteChildrenStep, DeleteResourcesStep, DeregisterStep]
    assert {s.type for s in out.steps} <= set(StepKind)


def test_a_one_wave_sync_completed_by_its_sync_hook_does_not_wait_for_its_objects_health() -> None:
    # gitops-engine: a single-step sync waits for its hooks only; the apply itself succeeds at once.
    out = compiled([obj("Deployment", "web", api_version="apps/v1"), hook("Job", "smoke", "Sync")])
    assert kinds(out.steps) == ["apply", "hooks", "health", "finish"]
    wait = out.steps[2]
    assert isinstance(wait, HealthStep) and wait.refs == () and wait.hooks == (0,)


def test_the_last_wave_of_a_multi_step_sync_waits_for_its_objects_when_it_has_hooks() -> None:
    out = compiled([obj("ConfigMap", "first", wave="-1"), obj("Deployment", "web", api_version="apps/v1"),
                    hook("Job", "smoke", "Sync")])
    last_wait = [step for step in out.steps if isinstance(step, HealthStep)][-1]
    assert [r.name for r in last_wait.refs] == ["web"] and last_wait.hooks == (0,)


def test_a_prune_wave_is_awaited_until_its_objects_are_gone_before_the_next_wave() -> None:
    from reconciler.engine.diff.resource_diff import diff_resource

    app = make_app()
    pod = obj("Pod", "worker", wave="1")
    account = obj("ServiceAccount", "worker", wave="0")
    extras = [diff_resource(ResourceKey.of(o), None, o) for o in (pod, account)]
    plan = build_plan(app, [], extras, prune=True)
    out = compile_sync(app, plan, {ResourceKey.of(o): o for o in (pod, account)})
    assert kinds(out.steps) == ["prune", "pruned", "prune", "finish"]
    first, wait, second = out.steps[:3]
    # Prune waves run in reverse: the Pod (created last) goes first, and must be gone before its account.
    assert isinstance(first, PruneStep) and [t.kind for t in first.targets] == ["Pod"]
    assert isinstance(wait, PrunedStep) and wait.targets == first.targets
    assert isinstance(second, PruneStep) and [t.kind for t in second.targets] == ["ServiceAccount"]


def test_every_syncfail_hook_runs_at_once_and_each_is_awaited() -> None:
    out = compiled([obj("ConfigMap", "app"), hook("Job", "alarm", "SyncFail"),
                    hook("Job", "notify", "SyncFail", wave="5")])
    assert kinds(out.sync_fail_steps) == ["hooks", "health"]
    create, wait = out.sync_fail_steps
    assert isinstance(create, HooksStep) and create.phase == HookType.SYNC_FAIL and len(create.hooks) == 2
    assert isinstance(wait, HealthStep) and wait.every_hook and wait.hooks == create.hooks
