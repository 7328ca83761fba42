"""Post-processing of rendered objects: namespaces, tracking marks, child apps,
tool detection and the cache fingerprint. Real files in a temporary tree."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml

from reconciler.model import Application, Destination, HelmSource, Source
from reconciler.model.resources import TRACKING_ANNOTATION, TRACKING_LABEL, ResourceKey
from reconciler.source.render import detect_tool, render, source_fingerprint


def app(namespace: str = "web", path: str = "m") -> Application:
    return Application(
        name="shop",
        namespace="argocd",
        project="default",
        source=Source(repo_url="https://example.invalid/repo.git", path=path),
        destination=Destination(server="https://kubernetes.default.svc", namespace=namespace),
    )


def render_docs(tmp_path: Path, *docs: dict, application: Application | None = None, **kwargs: object) -> list[dict]:
    (tmp_path / "m").mkdir(exist_ok=True)
    (tmp_path / "m" / "all.yaml").write_text(yaml.safe_dump_all(docs))
    return render(application or app(), tmp_path, **kwargs)  # type: ignore[arg-type]


def obj(api_version: str, kind: str, name: str, namespace: str | None = None) -> dict:
    metadata: dict = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


def test_namespaced_object_without_namespace_gets_destination_namespace(tmp_path: Path) -> None:
    [deploy] = render_docs(tmp_path, obj("apps/v1", "Deployment", "api"))
    assert deploy["metadata"]["namespace"] == "web"


def test_object_with_its_own_namespace_keeps_it(tmp_path: Path) -> None:
    [deploy] = render_docs(tmp_path, obj("apps/v1", "Deployment", "api", namespace="other"))
    assert deploy["metadata"]["namespace"] == "other"


def test_cluster_scoped_kinds_get_no_namespace(tmp_path: Path) -> None:
    objects = render_docs(
        tmp_path,
        obj("v1", "Namespace", "web"),
        obj("rbac.authorization.k8s.io/v1", "ClusterRole", "reader"),
        obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com"),
        obj("storage.k8s.io/v1", "StorageClass", "fast"),
    )
    assert [o["metadata"].get("namespace") for o in objects] == [None, None, None, None]


def test_cluster_scoped_object_written_with_a_namespace_loses_it_like_on_the_server(tmp_path: Path) -> None:
    [role] = render_docs(tmp_path, obj("rbac.authorization.k8s.io/v1", "ClusterRole", "reader", namespace="web"))
    assert "namespace" not in role["metadata"]
    assert role["metadata"]["annotations"][TRACKING_ANNOTATION] == "shop:rbac.authorization.k8s.io/ClusterRole:/reader"


def test_custom_resource_is_namespaced_unless_discovery_says_otherwise(tmp_path: Path) -> None:
    widget = obj("example.com/v1", "Widget", "w")
    [default] = render_docs(tmp_path, widget)
    [discovered] = render_docs(tmp_path, widget, cluster_scoped={("example.com", "Widget")})
    assert default["metadata"]["namespace"] == "web"
    assert "namespace" not in discovered["metadata"]


def test_every_object_gets_the_tracking_label_and_annotation(tmp_path: Path) -> None:
    [deploy, ns] = render_docs(tmp_path, obj("apps/v1", "Deployment", "api"), obj("v1", "Namespace", "web"))
    assert deploy["metadata"]["labels"][TRACKING_LABEL] == "shop"
    assert deploy["metadata"]["annotations"][TRACKING_ANNOTATION] == "shop:apps/Deployment:web/api"
    assert ns["metadata"]["annotations"][TRACKING_ANNOTATION] == "shop:/Namespace:/web"


def test_tracking_annotation_parses_back_to_the_object_key(tmp_path: Path) -> None:
    [deploy] = render_docs(tmp_path, obj("apps/v1", "Deployment", "api"))
    parsed = ResourceKey.from_tracking_id(deploy["metadata"]["annotations"][TRACKING_ANNOTATION])
    assert parsed == ("shop", ResourceKey.of(deploy))


def test_existing_labels_and_annotations_are_kept_and_instance_label_is_overwritten(tmp_path: Path) -> None:
    source = obj("v1", "ConfigMap", "c")
    source["metadata"]["labels"] = {"tier": "web", TRACKING_LABEL: "someone-else"}
    source["metadata"]["annotations"] = {"note": "x"}
    [cm] = render_docs(tmp_path, source)
    assert cm["metadata"]["labels"] == {"tier": "web", TRACKING_LABEL: "shop"}
    assert cm["metadata"]["annotations"]["note"] == "x"


def test_child_application_keeps_namespace_and_gets_only_the_annotation(tmp_path: Path) -> None:
    child = obj("argoproj.io/v1alpha1", "Application", "child", namespace="argocd")
    project = obj("argoproj.io/v1alpha1", "AppProject", "team")
    [child_out, project_out] = render_docs(tmp_path, child, project)
    assert child_out["metadata"]["namespace"] == "argocd"
    assert "namespace" not in project_out["metadata"]
    assert "labels" not in child_out["metadata"]
    assert child_out["metadata"]["annotations"][TRACKING_ANNOTATION] == "shop:argoproj.io/Application:argocd/child"


def test_empty_destination_namespace_leaves_namespace_unset(tmp_path: Path) -> None:
    [cm] = render_docs(tmp_path, obj("v1", "ConfigMap", "c"), application=app(namespace=""))
    assert "namespace" not in cm["metadata"]


def test_detects_helm_from_chart_yaml_before_kustomization(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    assert detect_tool(app(), tmp_path) == "Helm"


def test_detects_kustomize_from_any_kustomization_file_name(tmp_path: Path) -> None:
    (tmp_path / "Kustomization").write_text("resources: []\n")
    assert detect_tool(app(), tmp_path) == "Kustomize"


def test_detects_directory_otherwise(tmp_path: Path) -> None:
    assert detect_tool(app(), tmp_path) == "Directory"


def test_explicit_source_type_wins_over_detection(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    explicit = dataclasses.replace(app(), source=dataclasses.replace(app().source, helm=HelmSource()))
    assert detect_tool(explicit, tmp_path) == "Helm"


def test_fingerprint_is_stable_for_equal_specs() -> None:
    assert source_fingerprint(app()) == source_fingerprint(app())


def test_fingerprint_changes_with_source_spec_namespace_and_name() -> None:
    base = app()
    with_values = dataclasses.replace(base, source=dataclasses.replace(base.source, helm=HelmSource(values="a: 1")))
    fingerprints = {
        source_fingerprint(base),
        source_fingerprint(with_values),
        source_fingerprint(app(namespace="other")),
        source_fingerprint(dataclasses.replace(base, name="other")),
    }
    assert len(fingerprints) == 4
