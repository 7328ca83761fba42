"""Resource hooks: objects run at a phase of a sync instead of being part of the app's state.

    split_hooks(objects) -> (resources, hooks)     raises HookError naming the object

A hook is an object annotated `argocd.argoproj.io/hook: <Phase>[,<Phase>...]` (Argo CD), or
`helm.sh/hook: <event>[,...]` mapped as Argo CD maps Helm's events:

    pre-install, pre-upgrade   -> PreSync        post-install, post-upgrade -> PostSync
    helm.sh/hook-weight        -> sync wave (when argocd.argoproj.io/sync-wave is absent; as in
                                  gitops-engine this holds for every object, Argo CD hooks too)
    hook-succeeded / hook-failed / before-hook-creation -> HookSucceeded / HookFailed / BeforeHookCreation
    test, test-success, test-failure -> skipped (never run, as in Argo CD)

An Argo CD hook annotation wins over Helm's. Hooks never count towards sync status and are
never pruned as extras; every sync creates them again (a `generateName` hook gets a new
name each time from the server; a hook with neither name nor generateName is named by the sync,
`<app>-<hash>-<phase>`, as Argo CD names it), in its phase, ordered by wave, kind and name like
other objects.
`argocd.argoproj.io/hook-delete-policy` (comma-separated) says when a hook is deleted;
`BeforeHookCreation` is the default when none is given.

PreDelete and PostDelete hooks are never run by a sync: `app delete --cascade` runs them,
before and after deleting the app's resources (control/teardown.py). Helm's pre/post-delete
and rollback events are refused by name (Argo CD does not map them): running a hook at the
wrong time is worse than not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.core.errors import InputError
from reconciler.model.resources import HELM_HOOK_ANNOTATION, HOOK_ANNOTATION, ResourceKey, wave_annotation

JsonObj = dict[str, Any]

HOOK_DELETE_POLICY_ANNOTATION = "argocd.argoproj.io/hook-delete-policy"
HELM_HOOK_DELETE_POLICY_ANNOTATION = "helm.sh/hook-delete-policy"
HELM_RESOURCE_POLICY_ANNOTATION = "helm.sh/resource-policy"

PRE_SYNC, SYNC, POST_SYNC = "PreSync", "Sync", "PostSync"
SYNC_FAIL, PRE_DELETE, POST_DELETE, SKIP = "SyncFail", "PreDelete", "PostDelete", "Skip"
PHASES = (PRE_SYNC, SYNC, POST_SYNC, SYNC_FAIL, PRE_DELETE, POST_DELETE, SKIP)
HOOK_SUCCEEDED, HOOK_FAILED, BEFORE_HOOK_CREATION = "HookSucceeded", "HookFailed", "BeforeHookCreation"
DELETE_POLICIES = (HOOK_SUCCEEDED, HOOK_FAILED, BEFORE_HOOK_CREATION)

_HELM_PHASES = {
    "pre-install": PRE_SYNC,
    "pre-upgrade": PRE_SYNC,
    "post-install": POST_SYNC,
    "post-upgrade": POST_SYNC,
}
_HELM_TEST_EVENTS = frozenset({"test", "test-success", "test-failure"})
_HELM_DELETE_POLICIES = {
    "hook-succeeded": HOOK_SUCCEEDED,
    "hook-failed": HOOK_FAILED,
    "before-hook-creation": BEFORE_HOOK_CREATION,
}


class HookError(InputError, ValueError):
    """A hook annotation this system cannot honour; the message names the object and value."""


@dataclass(frozen=True)
class Hook:
    """One hook of the desired state: its manifest, phases, wave and delete policies."""

    obj: JsonObj
    phases: tuple[str, ...]
    wave: int
    delete_policies: tuple[str, ...]

    @property
    def generated(self) -> bool:
        return not self.meta.get("name")

    @property
    def meta(self) -> dict[str, Any]:
        return self.obj.get("metadata") or {}

    @property
    def display_name(self) -> str:
        return str(self.meta.get("name") or f"{self.meta.get('generateName', '')}<generated>")

    @property
    def key(self) -> ResourceKey:
        return ResourceKey.of(self.obj)

    def describe(self) -> str:
        namespace = self.meta.get("namespace") or ""
        return f"{self.obj.get('kind', '?')} {namespace + '/' if namespace else ''}{self.display_name}"


def annotations_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    return dict((obj.get("metadata") or {}).get("annotations") or {})


def is_hook(obj: Mapping[str, Any]) -> bool:
    """The object carries a hook annotation (Argo CD's, or a Helm hook event of any kind)."""
    annotations = annotations_of(obj)
    if HOOK_ANNOTATION in annotations:
        return True
    events = _split(annotations.get(HELM_HOOK_ANNOTATION))
    return bool(events) and events != ["crd-install"]


def _split(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _where(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    name = meta.get("name") or f"{meta.get('generateName', '')}<generated>"
    namespace = meta.get("namespace")
    return f"{obj.get('kind', '?')} {namespace + '/' if namespace else ''}{name}"


def read_hook(obj: JsonObj) -> Hook:
    """The hook `obj` declares; HookError naming the object and the value it cannot honour."""
    annotations = annotations_of(obj)
    where = _where(obj)
    if HOOK_ANNOTATION in annotations:
        phases = _split(annotations[HOOK_ANNOTATION])
        unknown = [p for p in phases if p not in PHASES]
        if unknown or not phases:
            shown = ", ".join(unknown) or "(empty)"
            supported = ", ".join(PHASES)
            raise HookError(f"{where}: annotation {HOOK_ANNOTATION} has {shown}; write one or more of {supported}")
        policies = _split(annotations.get(HOOK_DELETE_POLICY_ANNOTATION))
        bad = [p for p in policies if p not in DELETE_POLICIES]
        if bad:
            raise HookError(
                f"{where}: annotation {HOOK_DELETE_POLICY_ANNOTATION} has {', '.join(bad)}; "
                f"write one or more of {', '.join(DELETE_POLICIES)}"
            )
        wave = _wave(obj, where)
    else:
        events = _split(annotations.get(HELM_HOOK_ANNOTATION))
        if any(event in _HELM_TEST_EVENTS for event in events):
            phases = [SKIP]
        else:
            unmapped = [e for e in events if e not in _HELM_PHASES]
            if unmapped:
                raise HookError(
                    f"{where}: annotation {HELM_HOOK_ANNOTATION} has {', '.join(unmapped)}, which Argo CD and "
                    f"this system do not run; use {', '.join(_HELM_PHASES)} or an {HOOK_ANNOTATION} annotation"
                )
            phases = sorted({_HELM_PHASES[e] for e in events}, key=PHASES.index)
        helm_policies = _split(annotations.get(HELM_HOOK_DELETE_POLICY_ANNOTATION))
        bad = [p for p in helm_policies if p not in _HELM_DELETE_POLICIES]
        if bad:
            raise HookError(
                f"{where}: annotation {HELM_HOOK_DELETE_POLICY_ANNOTATION} has {', '.join(bad)}; "
                f"write one or more of {', '.join(_HELM_DELETE_POLICIES)}"
            )
        policies = [_HELM_DELETE_POLICIES[p] for p in helm_policies]
        wave = _wave(obj, where)
    return Hook(obj=obj, phases=tuple(phases), wave=wave, delete_policies=tuple(policies or [BEFORE_HOOK_CREATION]))


def _wave(obj: JsonObj, where: str) -> int:
    found = wave_annotation(obj)
    if found is None:
        return 0
    name, raw = found
    try:
        return int(str(raw).strip())
    except ValueError:
        raise HookError(f"{where}: annotation {name}={raw!r} is not an integer; write a whole number") from None


def split_hooks(objects: list[JsonObj]) -> tuple[list[JsonObj], list[Hook]]:
    """The app's resources and its hooks (Skip hooks are dropped: they are never applied)."""
    resources: list[JsonObj] = []
    hooks: list[Hook] = []
    problems: list[str] = []
    for obj in objects:
        if not is_hook(obj):
            resources.append(obj)
            continue
        try:
            hook = read_hook(obj)
        except HookError as exc:
            problems.append(str(exc))
            continue
        if SKIP not in hook.phases:
            hooks.append(hook)
    if problems:
        raise HookError("; ".join(problems))
    return resources, hooks
