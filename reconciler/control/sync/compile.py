"""Compile a plan into an operation's steps: pure functions of their inputs (no I/O).

    compile_sync(app, plan, live_uids, desired) -> Compiled     a sync's steps and hooks
    compile_delete(pre, post, ...) -> Compiled                  an app delete's steps and hooks

A sync: CreateNamespace's namespace, the Namespaces hooks live in, PreSync hook waves, the
Sync waves (objects in chunks, Sync hooks, prunes), PostSync hook waves, `finish`. As
gitops-engine's sync_context.go runs its tasks:
- a wave's hooks are always awaited; its applied objects' health only when the sync has more
  than one step (phase and wave) and something comes after the wave or it has hooks: a
  one-wave sync whose Sync hook completed has succeeded, whatever its Deployment does next;
- a prune wave's objects must be gone (not only asked to go: a Pod may terminate for its
  grace period) before anything after it starts; prune waves run in reverse (plan.py);
- SyncFail hooks are kept aside and all run at once when a step fails, each one awaited and
  its outcome recorded, then the sync ends Failed.

An app delete: PreDelete hooks (created together, every one awaited), child apps, the app's
resources, PostDelete hooks (likewise), `deregister`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.control.sync.operation import (
    ApplyStep,
    DeleteChildrenStep,
    DeleteResourcesStep,
    DeregisterStep,
    FinishStep,
    HealthStep,
    HookRecord,
    HooksStep,
    ObjectRef,
    PrunedStep,
    PruneStep,
    PruneTarget,
    Step,
)
from reconciler.engine.hooks import HELM_HOOK_DELETE_POLICY_ANNOTATION as HELM_POLICY
from reconciler.engine.hooks import HOOK_DELETE_POLICY_ANNOTATION, Hook
from reconciler.engine.plan import SyncPlan, Wave, hook_sort_key
from reconciler.model import Application
from reconciler.model.operation import HookType
from reconciler.model.resources import ResourceKey

JsonObj = dict[str, Any]

APPLY_CHUNK = 40  # objects per apply step: keeps every step well inside the task time limit


@dataclass
class Compiled:
    steps: list[Step] = field(default_factory=list)
    sync_fail_steps: list[Step] = field(default_factory=list)
    hooks: list[HookRecord] = field(default_factory=list)

    def record(self, hook: Hook, phase: HookType) -> int:
        """Add the hook's record (id: its position) and return the id."""
        meta = hook.meta
        annotations = meta.get("annotations") or {}
        self.hooks.append(
            HookRecord(
                id=len(self.hooks),
                phase=phase,
                wave=hook.wave,
                api_version=str(hook.obj.get("apiVersion", "")),
                kind=str(hook.obj.get("kind", "")),
                namespace=str(meta.get("namespace") or ""),
                name=str(meta.get("name") or ""),
                generate_name=str(meta.get("generateName") or ""),
                delete_policies=tuple(hook.delete_policies),
                obj=hook.obj,
                policy_given=any(annotations.get(a) for a in (HOOK_DELETE_POLICY_ANNOTATION, HELM_POLICY)),
            )
        )
        return len(self.hooks) - 1


def is_crd(obj: JsonObj) -> bool:
    return obj.get("kind") == "CustomResourceDefinition" and str(obj.get("apiVersion", "")).startswith(
        "apiextensions.k8s.io/"
    )


def compile_sync(
    app: Application, plan: SyncPlan, live: Mapping[ResourceKey, Mapping[str, Any]], desired: Sequence[JsonObj] = ()
) -> Compiled:
    """The steps of one sync of `app` by `plan`. `live`: the live object of each resource the
    plan prunes (a prune deletes only that very object, by uid); `desired`: every desired
    object (the health PostSync hooks wait for covers the ones this sync leaves alone too)."""
    out = Compiled()
    if plan.namespace_to_create:
        out.steps.append(ApplyStep(objects=(_namespace(app, plan.namespace_to_create),), track=False))
    early, waves = _namespaces_for_hooks(plan)
    if early:  # a hook cannot run in a namespace the Sync phase would create only after it
        out.steps.append(ApplyStep(objects=tuple(early)))
    out.steps.extend(_hook_phase_steps(out, plan.hooks.pre_sync, HookType.PRE_SYNC))
    sync_waves = [w for w in waves if w.apply or w.hooks or w.prune]
    phases = plan.hooks
    multi_step = len(phases.pre_sync) + len(sync_waves) + len(phases.post_sync) + len(phases.sync_fail) > 1
    for index, wave in enumerate(sync_waves):
        more = index < len(sync_waves) - 1 or bool(phases.post_sync)
        out.steps.extend(_sync_wave_steps(out, wave, live, more=more, multi_step=multi_step))
    if plan.hooks.post_sync:
        # PostSync runs once every resource of the app is healthy, the ones this sync left alone too.
        refs = tuple(ObjectRef.of(obj) for obj in desired) or tuple(
            ObjectRef.of(obj) for wave in sync_waves for obj in wave.apply
        )
        last = sync_waves[-1].number if sync_waves else None
        out.steps.append(HealthStep(wave=last, refs=refs))
    out.steps.extend(_hook_phase_steps(out, plan.hooks.post_sync, HookType.POST_SYNC))
    out.steps.append(FinishStep())
    out.sync_fail_steps = _sync_fail_steps(out, plan.hooks.sync_fail)
    return out


def _namespace(app: Application, name: str) -> JsonObj:
    metadata: JsonObj = {"name": name}
    if app.sync_policy.namespace_labels:
        metadata["labels"] = dict(app.sync_policy.namespace_labels)
    if app.sync_policy.namespace_annotations:
        metadata["annotations"] = dict(app.sync_policy.namespace_annotations)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def _namespaces_for_hooks(plan: SyncPlan) -> tuple[list[JsonObj], list[Wave]]:
    """The app's own Namespaces that hooks live in (to go first), and the waves without them."""
    phases = plan.hooks
    every_hook = [h for wave in phases.pre_sync + phases.post_sync + phases.sync_fail + plan.waves for h in wave.hooks]
    wanted = {str(h.meta.get("namespace") or "") for h in every_hook}
    early: list[JsonObj] = []
    waves: list[Wave] = []
    for wave in plan.waves:
        keep = []
        for obj in wave.apply:
            key = ResourceKey.of(obj)
            if key.group == "" and key.kind == "Namespace" and key.name in wanted:
                early.append(obj)
            else:
                keep.append(obj)
        waves.append(Wave(wave.number, apply=keep, prune=wave.prune, hooks=wave.hooks))
    return early, waves


def _sync_wave_steps(
    out: Compiled, wave: Wave, live: Mapping[ResourceKey, Mapping[str, Any]], *, more: bool, multi_step: bool
) -> list[Step]:
    steps: list[Step] = []
    hook_ids = tuple(out.record(hook, HookType.SYNC) for hook in wave.hooks)
    segments = _crd_segments(wave.apply)
    for number, segment in enumerate(segments):
        for start in range(0, len(segment), APPLY_CHUNK):
            steps.append(ApplyStep(wave=wave.number, objects=tuple(segment[start : start + APPLY_CHUNK])))
        if number < len(segments) - 1:  # CRDs just applied: their kinds must be served before the rest of the wave
            steps.append(HealthStep(wave=wave.number, refs=tuple(ObjectRef.of(o) for o in segment if is_crd(o))))
    if hook_ids:
        steps.append(HooksStep(phase=HookType.SYNC, wave=wave.number, hooks=hook_ids))
    if wave.prune:
        targets = tuple(PruneTarget.of(key, live.get(key)) for key in wave.prune)
        steps.append(PruneStep(wave=wave.number, targets=targets))
        if more or hook_ids:
            steps.append(PrunedStep(wave=wave.number, targets=targets))
    awaited = multi_step and (more or bool(hook_ids))
    refs = tuple(ObjectRef.of(o) for o in wave.apply) if awaited else ()
    if hook_ids or refs:
        steps.append(HealthStep(wave=wave.number, refs=refs, hooks=hook_ids))
    return steps


def _crd_segments(objects: list[JsonObj]) -> list[list[JsonObj]]:
    """Split a wave's ordered objects after each run of CRDs that objects after it may need."""
    segments: list[list[JsonObj]] = [[]]
    for obj in objects:
        if segments[-1] and is_crd(segments[-1][-1]) and not is_crd(obj):
            segments.append([])
        segments[-1].append(obj)
    return segments


def _hook_phase_steps(out: Compiled, waves: list[Wave], phase: HookType) -> list[Step]:
    steps: list[Step] = []
    for wave in waves:
        ids = tuple(out.record(hook, phase) for hook in wave.hooks)
        steps.append(HooksStep(phase=phase, wave=wave.number, hooks=ids))
        steps.append(HealthStep(wave=wave.number, phase=phase, hooks=ids))
    return steps


def _sync_fail_steps(out: Compiled, waves: list[Wave]) -> list[Step]:
    """Every SyncFail hook at once (gitops-engine runs them together), each one awaited."""
    if not waves:
        return []
    ids = tuple(out.record(hook, HookType.SYNC_FAIL) for wave in waves for hook in wave.hooks)
    return [
        HooksStep(phase=HookType.SYNC_FAIL, wave=waves[0].number, hooks=ids),
        HealthStep(phase=HookType.SYNC_FAIL, wave=waves[0].number, hooks=ids, every_hook=True),
    ]


def compile_delete(
    pre_delete: Sequence[Hook],
    post_delete: Sequence[Hook],
    *,
    children: Sequence[str],
    deadline: float,
) -> Compiled:
    """The steps of `app delete --cascade`: each hook phase's hooks are created together and
    every one is awaited (each outcome recorded), until `deadline` (wall-clock) at most."""
    out = Compiled()
    out.steps.extend(_delete_hook_steps(out, pre_delete, HookType.PRE_DELETE, deadline))
    out.steps.append(DeleteChildrenStep(children=tuple(children)))
    out.steps.append(DeleteResourcesStep())
    out.steps.extend(_delete_hook_steps(out, post_delete, HookType.POST_DELETE, deadline))
    out.steps.append(DeregisterStep())
    return out


def _delete_hook_steps(out: Compiled, hooks: Sequence[Hook], phase: HookType, deadline: float) -> list[Step]:
    if not hooks:
        return []
    ids = tuple(out.record(hook, phase) for hook in sorted(hooks, key=hook_sort_key))
    return [
        HooksStep(phase=phase, hooks=ids),
        HealthStep(phase=phase, hooks=ids, every_hook=True, deadline=deadline),
    ]
