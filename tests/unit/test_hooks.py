"""Which objects are hooks, in which phases and waves, with which delete policies."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.engine.hooks import HookError, split_hooks
from reconciler.engine.plan import build_plan
from reconciler.model import Application, Destination, Source


def obj(
    name: str, annotations: dict[str, str] | None = None, generate: bool = False, kind: str = "Job"
) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": "shop", "annotations": annotations or {}}
    meta["generateName" if generate else "name"] = f"{name}-" if generate else name
    return {"apiVersion": "batch/v1" if kind == "Job" else "v1", "kind": kind, "metadata": meta}


APP = Application(name="shop", namespace="argocd", project="default",
                  source=Source(repo_url="https://example.com/r.git", path="."),
                  destination=Destination(server="https://kubernetes.default.svc", namespace="shop"))


def test_argo_hooks_leave_the_desired_state_and_keep_phases_waves_and_policies() -> None:
    resources, hooks = split_hooks([
        obj("web", kind="ConfigMap"),
        obj("migrate", {"argocd.argoproj.io/hook": "PreSync,PostSync", "argocd.argoproj.io/sync-wave": "-2",
                        "argocd.argoproj.io/hook-delete-policy": "HookSucceeded,HookFailed"}, generate=True),
        obj("skipped", {"argocd.argoproj.io/hook": "Skip"}),
    ])
    assert [r["metadata"]["name"] for r in resources] == ["web"]
    [hook] = hooks
    assert hook.phases == ("PreSync", "PostSync") and hook.wave == -2 and hook.generated
    assert hook.delete_policies == ("HookSucceeded", "HookFailed")


def test_default_delete_policy_is_before_hook_creation() -> None:
    _, [hook] = split_hooks([obj("m", {"argocd.argoproj.io/hook": "Sync"})])
    assert hook.delete_policies == ("BeforeHookCreation",)


def test_helm_hooks_map_as_argo_cd_maps_them() -> None:
    _, hooks = split_hooks([
        obj("pre", {"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": "5",
                    "helm.sh/hook-delete-policy": "hook-succeeded,before-hook-creation"}),
        obj("post", {"helm.sh/hook": "post-upgrade"}),
        obj("test", {"helm.sh/hook": "test"}),
        obj("both", {"helm.sh/hook": "pre-install", "argocd.argoproj.io/hook": "PostSync"}),
    ])
    by_name = {h.meta["name"]: h for h in hooks}
    assert set(by_name) == {"pre", "post", "both"}  # helm test hooks never run
    assert by_name["pre"].phases == ("PreSync",) and by_name["pre"].wave == 5
    assert by_name["pre"].delete_policies == ("HookSucceeded", "BeforeHookCreation")
    assert by_name["post"].phases == ("PostSync",)
    assert by_name["both"].phases == ("PostSync",)  # Argo CD's annotation wins


def test_helm_hook_weight_orders_an_argo_cd_hook_without_a_sync_wave() -> None:
    # gitops-engine syncwaves.Wave: sync-wave, else helm.sh/hook-weight, for every object.
    _, hooks = split_hooks([
        obj("a-late", {"argocd.argoproj.io/hook": "PreSync", "helm.sh/hook-weight": "3"}),
        obj("z-early", {"argocd.argoproj.io/hook": "PreSync", "helm.sh/hook-weight": "-3"}),
        obj("wave-wins", {"argocd.argoproj.io/hook": "PreSync", "helm.sh/hook-weight": "-9",
                          "argocd.argoproj.io/sync-wave": "1"}),
    ])
    assert {h.meta["name"]: h.wave for h in hooks} == {"a-late": 3, "z-early": -3, "wave-wins": 1}
    plan = build_plan(APP, [], [], prune=True, hooks=hooks)
    assert [[h.meta["name"] for h in wave.hooks] for wave in plan.hooks.pre_sync] == [
        ["z-early"], ["wave-wins"], ["a-late"]
    ]


def test_helm_hook_weight_is_the_wave_of_a_plain_resource_without_a_sync_wave() -> None:
    from reconciler.engine.plan import sync_wave

    assert sync_wave(obj("cm", kind="ConfigMap"), where="cm") == 0
    assert sync_wave(obj("cm", {"helm.sh/hook-weight": "1"}, kind="ConfigMap"), where="cm") == 1
    both = {"helm.sh/hook-weight": "1", "argocd.argoproj.io/sync-wave": "-1"}
    assert sync_wave(obj("cm", both, kind="ConfigMap"), where="cm") == -1


def test_pre_delete_hooks_parse_leave_the_desired_state_and_are_never_placed_in_a_sync() -> None:
    resources, hooks = split_hooks([
        obj("cm", kind="ConfigMap"),
        obj("backup", {"argocd.argoproj.io/hook": "PreDelete", "argocd.argoproj.io/sync-wave": "2",
                       "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"}),
        obj("both", {"argocd.argoproj.io/hook": "PreDelete,PostDelete"}),
    ])
    assert [r["metadata"]["name"] for r in resources] == ["cm"]
    by_name = {h.meta["name"]: h for h in hooks}
    assert by_name["backup"].phases == ("PreDelete",) and by_name["backup"].wave == 2
    assert by_name["backup"].delete_policies == ("HookSucceeded",)
    assert by_name["both"].phases == ("PreDelete", "PostDelete")
    plan = build_plan(APP, resources, [], prune=True, hooks=hooks)
    placed = [h for phase in (plan.hooks.pre_sync, plan.hooks.post_sync, plan.hooks.sync_fail, plan.waves)
              for w in phase for h in w.hooks]
    assert placed == []  # only `app delete --cascade` runs them


def test_unsupported_phase_policy_and_helm_event_are_refused_naming_the_object() -> None:
    with pytest.raises(HookError) as err:
        split_hooks([
            obj("a", {"argocd.argoproj.io/hook": "OnDelete"}),
            obj("b", {"argocd.argoproj.io/hook": "Sync", "argocd.argoproj.io/hook-delete-policy": "Never"}),
            obj("c", {"helm.sh/hook": "pre-delete"}),
        ])
    message = str(err.value)
    assert "Job shop/a" in message and "OnDelete" in message and "PreDelete" in message  # listed as valid
    assert "Job shop/b" in message and "Never" in message
    assert "Job shop/c" in message and "pre-delete" in message


def test_plan_places_hooks_in_their_phases_ordered_by_wave_kind_and_name() -> None:
    _, hooks = split_hooks([
        obj("z-late", {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/sync-wave": "1"}),
        obj("b", {"argocd.argoproj.io/hook": "PreSync"}),
        obj("a", {"argocd.argoproj.io/hook": "PreSync"}),
        obj("mid", {"argocd.argoproj.io/hook": "Sync", "argocd.argoproj.io/sync-wave": "3"}),
        obj("fail", {"argocd.argoproj.io/hook": "SyncFail"}),
    ])
    plan = build_plan(APP, [], [], prune=False, hooks=hooks)
    assert [[h.meta["name"] for h in w.hooks] for w in plan.hooks.pre_sync] == [["a", "b"], ["z-late"]]
    assert [(w.number, [h.meta["name"] for h in w.hooks]) for w in plan.waves] == [(3, ["mid"])]
    assert [h.meta["name"] for w in plan.hooks.sync_fail for h in w.hooks] == ["fail"]


def test_selective_sync_runs_no_hooks() -> None:
    cm = obj("cm", kind="ConfigMap")
    _, hooks = split_hooks([obj("a", {"argocd.argoproj.io/hook": "PreSync"})])
    from reconciler.model.resources import ResourceKey

    plan = build_plan(APP, [cm], [], prune=False, resources={ResourceKey.of(cm)}, hooks=hooks)
    assert not plan.hooks.pre_sync
