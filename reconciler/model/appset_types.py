"""Argo CD `ApplicationSet` (argoproj.io/v1alpha1) and cluster Secrets
(`argocd.argoproj.io/secret-type: cluster`) as frozen dataclasses.

Generators stay as the validated mappings the manifest holds: a matrix renders the second
generator's fields with the parameters of the first before it runs, so the generator code
(reconciler/control/appsets/generators/) reads these mappings after interpolation. Every
field of them was checked by `parse_appset` (a field not handled is refused by name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

APPLICATIONSET_KIND = "ApplicationSet"
CLUSTER_SECRET_LABEL = "argocd.argoproj.io/secret-type"
CLUSTER_SECRET_TYPE = "cluster"
IN_CLUSTER_NAME = "in-cluster"

# syncPolicy.applicationsSync, as Argo CD names the policies.
APPLICATIONS_SYNC_POLICIES = ("create-only", "create-update", "create-delete", "sync")


@dataclass(frozen=True)
class MatchExpression:
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class RollingSyncStep:
    match_expressions: tuple[MatchExpression, ...]
    max_update: str = ""  # "" (every app of the step), a whole number, or a percentage like "25%"


@dataclass(frozen=True)
class ApplicationSet:
    name: str
    namespace: str
    generators: tuple[dict[str, Any], ...]
    template: dict[str, Any]  # {metadata: ..., spec: ...}, strings not yet rendered
    template_patch: str = ""
    go_template: bool = False
    go_template_options: tuple[str, ...] = ()
    applications_sync: str = "sync"
    preserve_resources_on_deletion: bool = False
    rolling_sync: tuple[RollingSyncStep, ...] | None = None  # strategy.type RollingSync
    apply_nested_selectors: bool = False
    preserved_annotations: tuple[str, ...] = ()
    preserved_labels: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    source_file: str = ""

    @property
    def missingkey_error(self) -> bool:
        return "missingkey=error" in self.go_template_options

    @property
    def allows_update(self) -> bool:
        return self.applications_sync in ("create-update", "sync")

    @property
    def allows_delete(self) -> bool:
        return self.applications_sync in ("create-delete", "sync")


@dataclass(frozen=True)
class ClusterSecret:
    """A cluster as Argo CD declares it: a Secret whose data holds `name`, `server` and
    `config`. Its labels and annotations are what the cluster generator selects on."""

    name: str
    server: str
    secret_name: str
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    # The `config` JSON (bearerToken, username/password, tlsClientConfig): credentials, never
    # shown, logged or stored unsealed.
    config: dict[str, Any] = field(default_factory=dict, repr=False)
    namespaces: tuple[str, ...] = ()
    cluster_resources: bool = False
    project: str = ""
    manifest: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    source_file: str = ""
