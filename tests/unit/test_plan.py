"""Sync plans: apply order, waves, hoisting, prune sets and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.engine.diff.resource_diff import ResourceDiff, diff_resource
from reconciler.engine.plan import (
    REFUSED_WIPE_OUT,
    SKIPPED_HELM_KEEP,
    SKIPPED_PRUNE_DISABLED,
    SKIPPED_PRUNE_FALSE,
    PlanError,
    SyncPlan,
    build_plan,
)
from reconciler.model import Application, AutomatedPolicy, Destination, Source, SyncPolicy
from reconciler.model.resources import SYNC_OPTIONS_ANNOTATION, SYNC_WAVE_ANNOTATION, ResourceKey


def make_app(
    *,
    automated: AutomatedPolicy | None = None,
    options: tuple[str, ...] = (),
    namespace: str = "demo",
) -> Application:
    return Application(
        name="shop",
        namespace="argocd",
        project="default",
        source=Source(repo_url="https://git.example.com/shop.git", path="deploy"),
        destination=Destination(server="https://kubernetes.default.svc", namespace=namespace),
        sync_policy=SyncPolicy(automated=automated, sync_options=options),
    )


def obj(
    kind: str,
    name: str,
    namespace: str = "demo",
    *,
    api_version: str = "v1",
    wave: str | None = None,
    sync_options: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    annotations = {}
    if wave is not None:
        annotations[SYNC_WAVE_ANNOTATION] = wave
    if sync_options is not None:
        annotations[SYNC_OPTIONS_ANNOTATION] = sync_options
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def namespace(name: str, **kw: Any) -> dict[str, Any]:
    return obj("Namespace", name, "", **kw)


def crd(group: str, kind: str, **kw: Any) -> dict[str, Any]:
    return obj(
        "CustomResourceDefinition",
        f"{kind.lower()}s.{group}",
        "",
        api_version="apiextensions.k8s.io/v1",
        spec={"group": group, "names": {"kind": kind}},
        **kw,
    )


def missing(desired: list[dict[str, Any]]) -> list[ResourceDiff]:
    """Diffs for objects that exist only in Git."""
    return [diff_resource(ResourceKey.of(o), o, None) for o in desired]


def extra(*live: dict[str, Any]) -> list[ResourceDiff]:
    return [diff_resource(ResourceKey.of(o), None, o) for o in live]


def plan_for(desired: list[dict[str, Any]], **kw: Any) -> SyncPlan:
    app = kw.pop("app", make_app())
    return build_plan(app, desired, missing(desired), **kw)


def applied(plan: SyncPlan) -> list[tuple[int, str]]:
    return [(wave.number, f"{o['kind']}/{o['metadata']['name']}") for wave in plan.waves for o in wave.apply]


def pruned(plan: SyncPlan) -> list[tuple[int, str]]:
    return [(wave.number, f"{k.kind}/{k.name}") for wave in plan.waves for k in wave.prune]


def test_applies_follow_helm_kind_order() -> None:
    desired = [
        obj("Service", "svc"),
        obj("Deployment", "web", api_version="apps/v1"),
        obj("ConfigMap", "cfg"),
        obj("ServiceAccount", "sa"),
        obj("Secret", "creds"),
    ]

    assert [name for _, name in applied(plan_for(desired))] == [
        "ServiceAccount/sa",
        "Secret/creds",
        "ConfigMap/cfg",
        "Service/svc",
        "Deployment/web",
    ]


def test_custom_resources_and_unknown_kinds_follow_known_kinds() -> None:
    desired = [
        obj("Widget", "w", api_version="example.com/v1"),
        obj("Ingress", "ing", api_version="networking.k8s.io/v1"),
    ]

    assert [name for _, name in applied(plan_for(desired))] == ["Ingress/ing", "Widget/w"]


def test_custom_resource_named_like_a_builtin_kind_ranks_as_custom() -> None:
    desired = [
        obj("Service", "knative", api_version="serving.knative.dev/v1"),
        obj("Deployment", "d", api_version="apps/v1"),
    ]

    assert [name for _, name in applied(plan_for(desired))] == ["Deployment/d", "Service/knative"]


def test_webhook_configurations_come_after_custom_resources() -> None:
    desired = [
        obj(
            "ValidatingWebhookConfiguration",
            "guard",
            "",
            api_version="admissionregistration.k8s.io/v1",
        ),
        obj("Widget", "w", api_version="example.com/v1"),
    ]

    assert [name for _, name in applied(plan_for(desired))] == [
        "Widget/w",
        "ValidatingWebhookConfiguration/guard",
    ]


def test_same_kind_is_ordered_by_namespace_then_name() -> None:
    desired = [obj("ConfigMap", "b", "ns1"), obj("ConfigMap", "a", "ns2"), obj("ConfigMap", "c", "ns1")]

    plan = plan_for(desired)

    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in plan.waves[0].apply] == [
        ("ns1", "b"),
        ("ns1", "c"),
        ("ns2", "a"),
    ]


def test_waves_run_in_ascending_order_including_negative_waves() -> None:
    desired = [
        obj("ConfigMap", "late", wave="5"),
        obj("ConfigMap", "default"),
        obj("Deployment", "early", api_version="apps/v1", wave="-2"),
    ]

    assert applied(plan_for(desired)) == [
        (-2, "Deployment/early"),
        (0, "ConfigMap/default"),
        (5, "ConfigMap/late"),
    ]


def test_wave_outranks_kind_order() -> None:
    desired = [obj("Namespace", "x", "", wave="1"), obj("Deployment", "d", "other", api_version="apps/v1")]

    assert applied(plan_for(desired)) == [(0, "Deployment/d"), (1, "Namespace/x")]


@pytest.mark.parametrize("bad", ["one", "1.5", "", "0x10"])
def test_malformed_wave_is_an_error_naming_the_object(bad: str) -> None:
    desired = [obj("ConfigMap", "cfg", wave=bad)]

    with pytest.raises(PlanError, match=r"ConfigMap demo/cfg: annotation argocd\.argoproj\.io/sync-wave"):
        plan_for(desired)


def test_namespace_moves_ahead_of_the_first_object_in_it_and_takes_its_wave() -> None:
    desired = [obj("ConfigMap", "cfg", "team", wave="-1"), namespace("team", wave="3")]

    assert applied(plan_for(desired)) == [(-1, "Namespace/team"), (-1, "ConfigMap/cfg")]


def test_crd_moves_ahead_of_its_first_custom_resource() -> None:
    desired = [
        obj("Widget", "w", api_version="example.com/v1", wave="-1"),
        crd("example.com", "Widget"),
        obj("ConfigMap", "cfg", wave="-1"),
    ]

    assert applied(plan_for(desired)) == [
        (-1, "ConfigMap/cfg"),
        (-1, "CustomResourceDefinition/widgets.example.com"),
        (-1, "Widget/w"),
    ]


def test_an_automated_sync_does_not_apply_synced_resources() -> None:
    cfg = obj("ConfigMap", "cfg", data={"a": "1"})
    web = obj("Deployment", "web", api_version="apps/v1")
    diffs = [diff_resource(ResourceKey.of(cfg), cfg, cfg), *missing([web])]

    plan = build_plan(make_app(), [cfg, web], diffs)  # prune=None: an automated sync

    assert applied(plan) == [(0, "Deployment/web")]


def test_a_manual_sync_applies_synced_resources_too() -> None:
    cfg = obj("ConfigMap", "cfg", data={"a": "1"})
    web = obj("Deployment", "web", api_version="apps/v1")
    diffs = [diff_resource(ResourceKey.of(cfg), cfg, cfg), *missing([web])]

    plan = build_plan(make_app(), [cfg, web], diffs, prune=False)

    assert applied(plan) == [(0, "ConfigMap/cfg"), (0, "Deployment/web")]


def test_apply_out_of_sync_only_true_makes_a_manual_sync_skip_synced_resources() -> None:
    cfg = obj("ConfigMap", "cfg", data={"a": "1"})
    app = make_app(options=("ApplyOutOfSyncOnly=true",))

    plan = build_plan(app, [cfg], [diff_resource(ResourceKey.of(cfg), cfg, cfg)], prune=False)

    assert applied(plan) == []


def test_apply_out_of_sync_only_false_applies_synced_resources_too() -> None:
    cfg = obj("ConfigMap", "cfg", data={"a": "1"})
    app = make_app(options=("ApplyOutOfSyncOnly=false",))

    plan = build_plan(app, [cfg], [diff_resource(ResourceKey.of(cfg), cfg, cfg)])

    assert applied(plan) == [(0, "ConfigMap/cfg")]


def test_selective_sync_applies_only_the_chosen_resources() -> None:
    desired = [obj("ConfigMap", "a"), obj("ConfigMap", "b")]

    plan = plan_for(desired, resources={ResourceKey("", "ConfigMap", "demo", "b")})

    assert applied(plan) == [(0, "ConfigMap/b")]


def test_selective_sync_prunes_only_the_chosen_resources() -> None:
    diffs = extra(obj("ConfigMap", "old1"), obj("ConfigMap", "old2"))

    plan = build_plan(make_app(), [], diffs, prune=True, resources={ResourceKey("", "ConfigMap", "demo", "old2")})

    assert pruned(plan) == [(0, "ConfigMap/old2")]


def test_selecting_a_resource_the_app_does_not_have_is_an_error() -> None:
    with pytest.raises(PlanError, match="no resource ConfigMap demo/ghost"):
        plan_for([obj("ConfigMap", "a")], resources={ResourceKey("", "ConfigMap", "demo", "ghost")})


def test_extra_resources_are_pruned_when_prune_is_requested() -> None:
    plan = build_plan(make_app(), [], extra(obj("ConfigMap", "old")), prune=True)

    assert pruned(plan) == [(0, "ConfigMap/old")]


def test_prunes_run_in_reverse_kind_order() -> None:
    diffs = extra(
        namespace("team"),
        obj("ConfigMap", "cfg", "team"),
        obj("Deployment", "web", "team", api_version="apps/v1"),
    )

    plan = build_plan(make_app(), [], diffs, prune=True)

    assert pruned(plan) == [(0, "Deployment/web"), (0, "ConfigMap/cfg"), (0, "Namespace/team")]


def test_prune_waves_are_mirrored_so_the_last_created_goes_first() -> None:
    diffs = extra(
        obj("ConfigMap", "first", wave="-1"),
        obj("ConfigMap", "middle", wave="2"),
        obj("ConfigMap", "last", wave="7"),
    )

    plan = build_plan(make_app(), [], diffs, prune=True)

    assert pruned(plan) == [(-1, "ConfigMap/last"), (2, "ConfigMap/middle"), (7, "ConfigMap/first")]


def test_prune_last_option_moves_prunes_after_every_apply_wave() -> None:
    web = obj("Deployment", "web", api_version="apps/v1", wave="4")
    diffs = [*missing([web]), *extra(obj("ConfigMap", "old"))]

    plan = build_plan(make_app(options=("PruneLast=true",)), [web], diffs, prune=True)

    assert [(w.number, len(w.apply), len(w.prune)) for w in plan.waves] == [(4, 1, 0), (5, 0, 1)]


def test_prune_last_annotation_moves_only_that_object() -> None:
    diffs = extra(obj("ConfigMap", "now"), obj("ConfigMap", "later", sync_options="PruneLast=true"))

    plan = build_plan(make_app(), [], diffs, prune=True)

    assert pruned(plan) == [(0, "ConfigMap/now"), (1, "ConfigMap/later")]


def test_prune_false_annotation_keeps_the_object() -> None:
    keep = obj("ConfigMap", "keep", sync_options="Replace=true, Prune=false")

    plan = build_plan(make_app(), [], extra(keep, obj("ConfigMap", "old")), prune=True)

    assert pruned(plan) == [(0, "ConfigMap/old")]
    assert plan.prune_skipped == [(ResourceKey("", "ConfigMap", "demo", "keep"), SKIPPED_PRUNE_FALSE)]


def test_prune_confirm_is_pruned_only_after_confirmation_and_listed_for_it() -> None:
    ask = obj("ConfigMap", "ask", sync_options="Prune=confirm")

    plan = build_plan(make_app(), [], extra(ask, obj("ConfigMap", "old")), prune=True)

    assert pruned(plan) == [(0, "ConfigMap/old"), (0, "ConfigMap/ask")]  # the sync step waits before deleting
    assert plan.confirm_prune == [ResourceKey("", "ConfigMap", "demo", "ask")]


def test_helm_resource_policy_keep_is_never_pruned() -> None:
    kept = obj("ConfigMap", "kept")
    kept["metadata"]["annotations"] = {"helm.sh/resource-policy": "keep"}

    plan = build_plan(make_app(), [], extra(kept), prune=True)

    assert plan.waves == []
    assert plan.prune_skipped == [(ResourceKey("", "ConfigMap", "demo", "kept"), SKIPPED_HELM_KEEP)]


def test_prune_disabled_reports_extras_as_skipped() -> None:
    plan = build_plan(make_app(), [], extra(obj("ConfigMap", "old")), prune=False)

    assert plan.waves == []
    assert plan.prune_skipped == [(ResourceKey("", "ConfigMap", "demo", "old"), SKIPPED_PRUNE_DISABLED)]


def test_automated_sync_prunes_per_the_automated_policy() -> None:
    app = make_app(automated=AutomatedPolicy(prune=True, allow_empty=True))
    cfg = obj("ConfigMap", "cfg")

    plan = build_plan(app, [cfg], [*missing([cfg]), *extra(obj("ConfigMap", "old"))])

    assert pruned(plan) == [(0, "ConfigMap/old")]


def test_automated_sync_without_prune_policy_does_not_prune() -> None:
    app = make_app(automated=AutomatedPolicy(prune=False))
    cfg = obj("ConfigMap", "cfg")

    plan = build_plan(app, [cfg], [*missing([cfg]), *extra(obj("ConfigMap", "old"))])

    assert pruned(plan) == []


def test_create_namespace_option_names_the_destination_namespace() -> None:
    plan = plan_for([obj("ConfigMap", "cfg")], app=make_app(options=("CreateNamespace=true",)))

    assert plan.namespace_to_create == "demo"


def test_create_namespace_is_skipped_when_git_holds_that_namespace() -> None:
    plan = plan_for([namespace("demo"), obj("ConfigMap", "cfg")], app=make_app(options=("CreateNamespace=true",)))

    assert plan.namespace_to_create is None


def test_no_namespace_is_created_without_the_option() -> None:
    assert plan_for([obj("ConfigMap", "cfg")]).namespace_to_create is None


def test_automated_sync_refuses_to_prune_everything_without_allow_empty() -> None:
    app = make_app(automated=AutomatedPolicy(prune=True, allow_empty=False))

    plan = build_plan(app, [], extra(obj("ConfigMap", "a"), obj("ConfigMap", "b")))

    assert plan.refused == REFUSED_WIPE_OUT
    assert plan.waves == []


def test_automated_sync_with_allow_empty_prunes_everything() -> None:
    app = make_app(automated=AutomatedPolicy(prune=True, allow_empty=True))

    plan = build_plan(app, [], extra(obj("ConfigMap", "a")))

    assert plan.refused is None
    assert pruned(plan) == [(0, "ConfigMap/a")]


def test_manual_sync_may_prune_everything() -> None:
    app = make_app(automated=AutomatedPolicy(prune=True, allow_empty=False))

    plan = build_plan(app, [], extra(obj("ConfigMap", "a")), prune=True)

    assert plan.refused is None


def test_dry_run_is_carried_in_the_plan() -> None:
    assert plan_for([obj("ConfigMap", "cfg")], dry_run=True).dry_run is True


def test_diff_without_a_desired_manifest_is_an_error() -> None:
    cfg = obj("ConfigMap", "cfg")

    with pytest.raises(PlanError, match="absent from the desired manifests"):
        build_plan(make_app(), [], missing([cfg]))


def test_duplicate_desired_object_is_an_error() -> None:
    cfg = obj("ConfigMap", "cfg")

    with pytest.raises(PlanError, match="appears twice"):
        build_plan(make_app(), [cfg, dict(cfg)], missing([cfg]))


def test_crds_come_right_after_namespaces() -> None:
    desired = [obj("ConfigMap", "cfg"), obj("ServiceAccount", "sa"), crd("example.com", "Widget"), namespace("demo")]

    assert [name for _, name in applied(plan_for(desired))] == [
        "Namespace/demo", "CustomResourceDefinition/widgets.example.com", "ServiceAccount/sa", "ConfigMap/cfg",
    ]
