"""What people ask of ApplicationSets and clusters, shared by the CLI and the HTTP API."""

from __future__ import annotations

import time
from typing import Any

from reconciler.control.appsets.clusters import register_cluster
from reconciler.control.appsets.context import GeneratorError
from reconciler.control.appsets.generate import manifest_of
from reconciler.control.appsets.reconcile import context_for, generate_for
from reconciler.control.appsets.template import TemplateError
from reconciler.core.errors import InputError, ReconcilerError
from reconciler.model import SpecError
from reconciler.model.appset_types import ApplicationSet, ClusterSecret
from reconciler.model.parse_appset import parse_appset
from reconciler.services import Services
from reconciler.state import Store


class UnknownAppSet(InputError, LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"ApplicationSet {name!r} is not registered; register it with `reconciler app create -f FILE`"
        )


class GenerateFailed(ReconcilerError):
    """`appset generate` could not produce the apps; the message names the generator or field."""


def register_appset(store: Store, appset: ApplicationSet, parent: str | None = None) -> bool:
    """Store the set and generate it at once; True when it is new."""
    new = store.put_appset(appset.name, appset.manifest)
    if parent:
        store.set_appset_parent(appset.name, parent)
    store.schedule_appset(appset.name, time.time())
    return new


def register_clusters(store: Store, clusters: list[ClusterSecret]) -> list[str]:
    """Register cluster Secrets; every set is generated again soon (its cluster generator may
    select them), as Argo CD refreshes sets when a cluster Secret changes."""
    names = [register_cluster(store, cluster) for cluster in clusters]
    if names:
        now = time.time()
        for appset in store.appset_manifests():
            store.schedule_appset(appset, now, sooner_only=True)
    return names


def appset_project(manifest: dict[str, Any]) -> str:
    """The project a set's template names: Argo CD's RBAC object of the set is `<project>/<name>`."""
    template_spec = ((manifest.get("spec") or {}).get("template") or {}).get("spec") or {}
    return str(template_spec.get("project") or "default")


def summary(store: Store, name: str, manifest: dict[str, Any], status: dict[str, Any] | None) -> dict[str, Any]:
    status = status or {}
    conditions = status.get("conditions") or []
    error = next((c for c in conditions if c.get("type") == "ErrorOccurred" and c.get("status") == "True"), None)
    resources = status.get("resources") or []
    spec = manifest.get("spec") or {}
    return {
        "name": name,
        "namespace": (manifest.get("metadata") or {}).get("namespace") or "argocd",
        "generators": [
            next((k for k in g if k != "selector"), "?") for g in spec.get("generators") or [] if isinstance(g, dict)
        ],
        "applications": len(resources),
        "healthy": sum(1 for r in resources if (r.get("health") or {}).get("status") == "Healthy"),
        "synced": sum(1 for r in resources if r.get("status") == "Synced"),
        "error": error.get("message", "") if error else "",
        "strategy": (spec.get("strategy") or {}).get("type") or "AllAtOnce",
        "project": appset_project(manifest),
        "applicationsSync": (spec.get("syncPolicy") or {}).get("applicationsSync") or "sync",
        "observedAt": status.get("observedAt"),
        "parent": store.appset_parent(name) or "",
    }


def list_appsets(store: Store) -> list[dict[str, Any]]:
    manifests = store.appset_manifests()
    return [summary(store, name, manifests[name], store.appset_status(name)) for name in sorted(manifests)]


def get_appset(store: Store, name: str) -> dict[str, Any]:
    manifest = store.appset_manifest(name)
    if manifest is None:
        raise UnknownAppSet(name)
    status = store.appset_status(name) or {}
    detail = summary(store, name, manifest, status)
    detail.update(
        {
            "manifest": manifest,
            "conditions": status.get("conditions") or [],
            "resources": status.get("resources") or [],
            "applicationStatus": status.get("applicationStatus") or [],
            "refused": status.get("refused") or {},
            "lastRun": status.get("lastRun") or {},
            "nextGeneration": store.next_generation(name),
        }
    )
    return detail


def generate_preview(
    services: Services, manifest: dict[str, Any], source: str = "request body"
) -> list[dict[str, Any]]:
    """The Applications `manifest` would produce now, created nowhere (`argocd appset generate`):
    what the system's clusters, projects and credentials give, including apps that a project
    would refuse (listed with the reason under `refused`, never silently left out)."""
    try:
        appset = parse_appset(manifest, source_file=source)
    except SpecError as exc:
        raise GenerateFailed(str(exc)) from None
    ctx = context_for(services, appset, fresh=True)
    try:
        generated = generate_for(services, appset, ctx)
    except (GeneratorError, TemplateError) as exc:
        raise GenerateFailed(f"ApplicationSet {appset.name}: {exc}") from None
    apps = [manifest_of(app) for app in generated.apps.values()]
    for name, why in sorted(generated.refused.items()):
        apps.append(
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": name}, "refused": why}
        )
    return apps
