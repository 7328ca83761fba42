"""The sync plan: which objects to apply and prune, in which waves and order.

A pure function of the Application, the desired manifests and their diffs.

Order of applies (Argo CD's, plus Flux's rule for webhooks):
1. sync wave, annotation `argocd.argoproj.io/sync-wave`, else `helm.sh/hook-weight` (as
   gitops-engine reads it for every object; integer, default 0, may be negative). A value
   that is not an integer is a `PlanError`: Argo CD silently uses the next source or 0, which
   runs an object the author meant to hold back; we refuse to guess.
2. kind rank, Helm's install order (`KIND_ORDER`) with CustomResourceDefinitions moved
   right after Namespaces; kinds it does not list and custom
   resources come after, and Validating/MutatingWebhookConfigurations come last (as in
   Flux) so a webhook whose Service is not serving yet cannot reject the app's objects.
3. namespace, then name.
Then a Namespace moves just ahead of the first object placed in it, and a CRD ahead of
its first custom resource, taking that object's wave if it is earlier.

A manual sync (a person's, a rollback) applies every desired object, as Argo CD does;
`ApplyOutOfSyncOnly=true` makes it skip the ones already Synced. An automated sync skips
them unless `ApplyOutOfSyncOnly=false`: server-side apply of an equal object is a no-op, so
this only saves requests (Argo CD applies everything there too; a difference on purpose).

Prunes: Extra resources (live, tracked, not in Git) when pruning is enabled, minus
those whose live object has `argocd.argoproj.io/sync-options: Prune=false`; those with
`Prune=confirm` are listed in `confirm_prune` (the sync waits for `app confirm-prune`). Their waves come
from the live annotation, mirrored as in Argo CD (the object created in the last wave
is deleted in the first prune wave) and, within a wave, in reverse kind order (the
Deployment before its ConfigMap, the Namespace last). `PruneLast=true` (app sync
option or the object's annotation) moves a prune to a wave after every other one.
Within a wave the executor runs `apply` before `prune`.

Hooks (reconciler/engine/hooks.py) run in phases around these waves: PreSync waves, then
the Sync waves above (a Sync hook joins the wave of its annotation), then PostSync waves;
SyncFail waves only when the sync fails. Within a phase: wave, kind order, then name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.errors import InputError
from reconciler.engine.diff.resource_diff import ResourceDiff, ResourceSyncStatus, annotation_options
from reconciler.engine.hooks import HELM_RESOURCE_POLICY_ANNOTATION, POST_SYNC, PRE_SYNC, SYNC, SYNC_FAIL, Hook
from reconciler.model import Application
from reconciler.model.resources import SYNC_OPTIONS_ANNOTATION, ResourceKey, wave_annotation

JsonObj = dict[str, Any]

# Helm's kind_sorter install order, as Argo CD's gitops-engine uses it.
KIND_ORDER: tuple[str, ...] = (
    "Namespace",
    # Moved up from Helm's place (after PersistentVolumeClaim): no built-in kind depends on
    # a CRD, and applying CRDs first leaves the API server time to serve their kinds.
    "CustomResourceDefinition",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}
_UNKNOWN_RANK = len(KIND_ORDER)
_WEBHOOK_RANK = len(KIND_ORDER) + 1
_WEBHOOK_KINDS = frozenset({"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"})
_CRD_GROUP = "apiextensions.k8s.io"
_WAVE_PATTERN = re.compile(r"[+-]?\d+")

REFUSED_WIPE_OUT = "auto-sync will wipe out all resources"
SKIPPED_PRUNE_DISABLED = "pruning is disabled: sync with prune enabled to delete it"
SKIPPED_PRUNE_FALSE = f"annotation {SYNC_OPTIONS_ANNOTATION} has Prune=false"


SKIPPED_HELM_KEEP = f"annotation {HELM_RESOURCE_POLICY_ANNOTATION} is keep (Helm keeps it when it leaves the chart)"


def helm_keeps(obj: JsonObj | None) -> bool:
    annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(HELM_RESOURCE_POLICY_ANNOTATION, "")).strip().lower() == "keep"


def keeps_on_delete(obj: JsonObj | None) -> bool:
    """Delete=false or helm.sh/resource-policy: keep: deleting the app leaves the object."""
    delete = annotation_options(obj, SYNC_OPTIONS_ANNOTATION).get("Delete", "").lower()
    return delete == "false" or helm_keeps(obj)


class PlanError(InputError, ValueError):
    """The inputs cannot be planned; the message names the object at fault."""


@dataclass
class Wave:
    number: int
    apply: list[JsonObj] = field(default_factory=list)  # desired manifests, in order
    prune: list[ResourceKey] = field(default_factory=list)  # run after `apply`, in order
    hooks: list[Hook] = field(default_factory=list)  # created with `apply`, in order; waited for


@dataclass
class HookPhases:
    """Hooks by phase; each phase's waves ascending, hooks in kind and name order within one."""

    pre_sync: list[Wave] = field(default_factory=list)
    post_sync: list[Wave] = field(default_factory=list)
    sync_fail: list[Wave] = field(default_factory=list)


@dataclass
class SyncPlan:
    waves: list[Wave] = field(default_factory=list)  # ascending wave number
    prune_skipped: list[tuple[ResourceKey, str]] = field(default_factory=list)
    refused: str | None = None  # set: do nothing at all, report this
    namespace_to_create: str | None = None  # CreateNamespace=true: before the first wave
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    hooks: HookPhases = field(default_factory=HookPhases)  # Sync-phase hooks are in `waves`
    confirm_prune: list[ResourceKey] = field(default_factory=list)  # Prune=confirm: wait for `confirm-prune`

    @property
    def apply_keys(self) -> list[ResourceKey]:
        return [ResourceKey.of(obj) for wave in self.waves for obj in wave.apply]

    @property
    def prune_keys(self) -> list[ResourceKey]:
        return [key for wave in self.waves for key in wave.prune]


def kind_rank(key: ResourceKey) -> int:
    """Position of a kind in apply order; custom resources rank after every built-in."""
    if key.kind in _WEBHOOK_KINDS and key.group == "admissionregistration.k8s.io":
        return _WEBHOOK_RANK
    if _is_builtin_group(key.group) and key.kind in _RANK:
        return _RANK[key.kind]
    return _UNKNOWN_RANK


def _is_builtin_group(group: str) -> bool:
    # Built-in groups are "", single words (apps, batch, policy) or *.k8s.io; a custom
    # resource group always has a dot, so a CR kind named "Service" is not ranked as one.
    return "." not in group or group.endswith(".k8s.io")


def sync_wave(obj: JsonObj, *, where: str) -> int:
    """The object's sync wave (`argocd.argoproj.io/sync-wave`, else `helm.sh/hook-weight`, as
    gitops-engine reads it for every object); `PlanError` naming `where` when it is not an integer."""
    found = wave_annotation(obj)
    if found is None:
        return 0
    name, raw = found
    text = str(raw).strip()
    if not _WAVE_PATTERN.fullmatch(text):
        raise PlanError(
            f"{where}: annotation {name}={raw!r} is not an integer; "
            'write a whole number such as "0", "5" or "-1"'
        )
    return int(text)


@dataclass
class _Step:
    key: ResourceKey
    obj: JsonObj
    wave: int

    def sort_key(self) -> tuple[int, int, str, str]:
        return (self.wave, kind_rank(self.key), self.key.namespace, self.key.name)


def build_plan(
    app: Application,
    desired: Sequence[JsonObj],
    diffs: Sequence[ResourceDiff],
    *,
    prune: bool | None = None,
    resources: set[ResourceKey] | None = None,
    dry_run: bool = False,
    hooks: Sequence[Hook] = (),
) -> SyncPlan:
    """Plan one sync of `app`.

    `prune=None` means an automated sync: pruning follows `syncPolicy.automated.prune`
    and the `allowEmpty` guard applies. A user-requested sync passes `prune` explicitly.
    `resources` restricts applies and prunes to those keys (selective sync), and runs no
    hooks (as in Argo CD). `hooks` are the app's resource hooks, placed in their phases.
    """
    desired_by_key = _index_desired(app, desired)
    diff_by_key = {diff.key: diff for diff in diffs}
    _check_consistent(app, desired_by_key, diff_by_key, resources)

    automated = app.sync_policy.automated
    prune_enabled = prune if prune is not None else bool(automated and automated.prune)
    plan = SyncPlan(dry_run=dry_run)

    extras = [d for d in diffs if d.status == ResourceSyncStatus.EXTRA]
    prunable, plan.prune_skipped = _split_prunable(extras, prune_enabled, resources)
    plan.confirm_prune = [
        d.key for d in prunable
        if annotation_options(d.live, SYNC_OPTIONS_ANNOTATION).get("Prune", "").lower() == "confirm"
    ]

    if prune is None and _would_wipe_out(app, desired_by_key, diffs, prunable):
        plan.refused = REFUSED_WIPE_OUT
        plan.prune_skipped = []
        return plan

    steps = _apply_steps(app, desired_by_key, diff_by_key, resources, automated=prune is None)
    last_apply_wave = max((step.wave for step in steps), default=0)
    prune_steps = _prune_steps(app, prunable, plan.warnings, last_apply_wave=last_apply_wave)
    plan.waves = _assemble(steps, prune_steps)
    if resources is None:
        _place_hooks(plan, hooks)
    plan.namespace_to_create = _namespace_to_create(app, desired_by_key)
    return plan


def _index_desired(app: Application, desired: Sequence[JsonObj]) -> dict[ResourceKey, JsonObj]:
    by_key: dict[ResourceKey, JsonObj] = {}
    for obj in desired:
        key = ResourceKey.of(obj)
        if key in by_key:
            raise PlanError(
                f"application {app.name!r}: {key} appears twice in the desired manifests; "
                "each object may be defined once"
            )
        by_key[key] = obj
    return by_key


def _check_consistent(
    app: Application,
    desired_by_key: dict[ResourceKey, JsonObj],
    diff_by_key: dict[ResourceKey, ResourceDiff],
    resources: set[ResourceKey] | None,
) -> None:
    for key, diff in diff_by_key.items():
        in_git = key in desired_by_key
        if diff.status == ResourceSyncStatus.EXTRA and in_git:
            raise PlanError(
                f"application {app.name!r}: {key} is Extra in the diff but present in the desired "
                "manifests; diff and render must come from the same revision"
            )
        # Unknown: a live object the project does not permit, left alone (engine/project_check.py).
        if diff.status not in (ResourceSyncStatus.EXTRA, ResourceSyncStatus.UNKNOWN) and not in_git:
            raise PlanError(
                f"application {app.name!r}: {key} is {diff.status.value} in the diff but absent from "
                "the desired manifests; diff and render must come from the same revision"
            )
    if resources is not None:
        unknown = sorted(k for k in resources if k not in desired_by_key and k not in diff_by_key)
        if unknown:
            names = ", ".join(str(k) for k in unknown)
            raise PlanError(f"application {app.name!r} has no resource {names}; pick resources it manages")


def _split_prunable(
    extras: list[ResourceDiff], prune_enabled: bool, resources: set[ResourceKey] | None
) -> tuple[list[ResourceDiff], list[tuple[ResourceKey, str]]]:
    prunable: list[ResourceDiff] = []
    skipped: list[tuple[ResourceKey, str]] = []
    for diff in extras:
        if resources is not None and diff.key not in resources:
            continue
        prune_option = annotation_options(diff.live, SYNC_OPTIONS_ANNOTATION).get("Prune", "").lower()
        if not prune_enabled:
            skipped.append((diff.key, SKIPPED_PRUNE_DISABLED))
        elif prune_option == "false":
            skipped.append((diff.key, SKIPPED_PRUNE_FALSE))
        elif helm_keeps(diff.live):
            skipped.append((diff.key, SKIPPED_HELM_KEEP))
        else:
            prunable.append(diff)
    return prunable, skipped


def _would_wipe_out(
    app: Application,
    desired_by_key: dict[ResourceKey, JsonObj],
    diffs: Sequence[ResourceDiff],
    prunable: list[ResourceDiff],
) -> bool:
    policy = app.sync_policy.automated
    if policy is None or policy.allow_empty or desired_by_key or not prunable:
        return False
    live_keys = {d.key for d in diffs if d.live is not None}
    return live_keys == {d.key for d in prunable}


def _apply_steps(
    app: Application,
    desired_by_key: dict[ResourceKey, JsonObj],
    diff_by_key: dict[ResourceKey, ResourceDiff],
    resources: set[ResourceKey] | None,
    *,
    automated: bool,
) -> list[_Step]:
    only_out_of_sync = (app.sync_policy.option("ApplyOutOfSyncOnly") or "").lower()
    apply_all = only_out_of_sync == "false" if automated else only_out_of_sync != "true"
    steps: list[_Step] = []
    for key, obj in desired_by_key.items():
        if resources is not None and key not in resources:
            continue
        diff = diff_by_key.get(key)
        # No diff means its state is unknown: applying is the safe, idempotent choice.
        if diff is not None and diff.status == ResourceSyncStatus.SYNCED and not apply_all:
            continue
        wave = sync_wave(obj, where=f"application {app.name!r}, {key}")
        steps.append(_Step(key, obj, wave))
    steps.sort(key=_Step.sort_key)
    _hoist(steps, _namespace_provided, _namespace_used)
    _hoist(steps, _crd_provided, _crd_used)
    return steps


def _namespace_provided(step: _Step) -> str | None:
    return step.key.name if step.key.group == "" and step.key.kind == "Namespace" else None


def _namespace_used(step: _Step) -> str | None:
    return step.key.namespace or None


def _crd_provided(step: _Step) -> str | None:
    if step.key.group != _CRD_GROUP or step.key.kind != "CustomResourceDefinition":
        return None
    spec = step.obj.get("spec") or {}
    group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
    return f"{group}/{kind}" if group and kind else None


def _crd_used(step: _Step) -> str | None:
    return f"{step.key.group}/{step.key.kind}"


def _hoist(
    steps: list[_Step],
    provided: Callable[[_Step], str | None],
    used: Callable[[_Step], str | None],
) -> None:
    """Move each provider just ahead of the first step that uses it, into that step's wave."""
    first_use: dict[str, int] = {}
    index = 0
    while index < len(steps):
        step = steps[index]
        dep = provided(step)
        if dep is not None:
            target = first_use.get(dep)
            if target is not None:
                steps.insert(target, steps.pop(index))
                step.wave = steps[target + 1].wave
                for name, position in first_use.items():
                    if position >= target:
                        first_use[name] = position + 1
        else:
            dep = used(step)
            if dep is not None:
                first_use.setdefault(dep, index)
        index += 1


def _prune_steps(
    app: Application, prunable: list[ResourceDiff], warnings: list[str], *, last_apply_wave: int
) -> list[_Step]:
    steps: list[_Step] = []
    for diff in prunable:
        live = diff.live or {}
        try:
            wave = sync_wave(live, where=f"live {diff.key}")
        except PlanError as err:
            # The object is no longer in Git, so the user cannot fix it there; pruning
            # it in wave 0 is better than never pruning it.
            warnings.append(f"{err}; pruning it in wave 0")
            wave = 0
        steps.append(_Step(diff.key, live, wave))

    # Mirror prune waves: the first prune wave takes the objects of the last one.
    unique = sorted({s.wave for s in steps})
    mirrored = dict(zip(unique, reversed(unique), strict=True))
    for step in steps:
        step.wave = mirrored[step.wave]

    prune_last_app = app.sync_policy.option_enabled("PruneLast")
    final_wave = max([last_apply_wave, 0, *(s.wave for s in steps)]) + 1
    for step in steps:
        options = annotation_options(step.obj, SYNC_OPTIONS_ANNOTATION)
        if prune_last_app or options.get("PruneLast", "").lower() == "true":
            step.wave = final_wave
    steps.sort(key=_Step.sort_key, reverse=True)
    steps.sort(key=lambda s: s.wave)  # stable: waves ascending, reverse kind order within
    return steps


def _assemble(apply_steps: list[_Step], prune_steps: list[_Step]) -> list[Wave]:
    waves: dict[int, Wave] = {}
    for step in apply_steps:
        waves.setdefault(step.wave, Wave(step.wave)).apply.append(step.obj)
    for step in prune_steps:
        waves.setdefault(step.wave, Wave(step.wave)).prune.append(step.key)
    return [waves[number] for number in sorted(waves)]


def hook_sort_key(hook: Hook) -> tuple[int, int, str, str]:
    meta = hook.meta
    name = str(meta.get("name") or meta.get("generateName") or "")
    return (hook.wave, kind_rank(hook.key), str(meta.get("namespace") or ""), name)


def _hook_waves(hooks: list[Hook]) -> list[Wave]:
    waves: dict[int, Wave] = {}
    for hook in sorted(hooks, key=hook_sort_key):
        waves.setdefault(hook.wave, Wave(hook.wave)).hooks.append(hook)
    return [waves[number] for number in sorted(waves)]


def _place_hooks(plan: SyncPlan, hooks: Sequence[Hook]) -> None:
    def of(phase: str) -> list[Hook]:
        return [hook for hook in hooks if phase in hook.phases]

    plan.hooks = HookPhases(
        pre_sync=_hook_waves(of(PRE_SYNC)), post_sync=_hook_waves(of(POST_SYNC)), sync_fail=_hook_waves(of(SYNC_FAIL))
    )
    by_number = {wave.number: wave for wave in plan.waves}
    for wave in _hook_waves(of(SYNC)):
        by_number.setdefault(wave.number, Wave(wave.number)).hooks.extend(wave.hooks)
    plan.waves = [by_number[number] for number in sorted(by_number)]


def _namespace_to_create(app: Application, desired_by_key: dict[ResourceKey, JsonObj]) -> str | None:
    namespace = app.destination.namespace
    if not namespace or not app.sync_policy.option_enabled("CreateNamespace"):
        return None
    if ResourceKey("", "Namespace", "", namespace) in desired_by_key:
        return None
    return namespace
