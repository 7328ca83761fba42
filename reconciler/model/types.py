"""Argo CD `Application` and `AppProject` (argoproj.io/v1alpha1) as frozen dataclasses: the contract the
rest of the core reads (render, diff, plan and the workers take these types, never raw YAML)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "argoproj.io/v1alpha1"
DEFAULT_REVISION_HISTORY_LIMIT = 10
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"


@dataclass(frozen=True)
class HelmParameter:
    name: str
    value: str
    force_string: bool = False


@dataclass(frozen=True)
class HelmFileParameter:
    name: str
    path: str  # a file in the repository, relative to the chart; its content becomes the value


@dataclass(frozen=True)
class HelmSource:
    value_files: tuple[str, ...] = ()
    values: str = ""  # a YAML string, as in Argo CD
    values_object: dict[str, Any] | None = None
    parameters: tuple[HelmParameter, ...] = ()
    file_parameters: tuple[HelmFileParameter, ...] = ()
    release_name: str = ""  # empty: the application's name
    ignore_missing_value_files: bool = False
    version: str = ""  # "" or "v3": Helm 3 (v2 is refused at parse)
    skip_crds: bool = False
    skip_schema_validation: bool = False
    pass_credentials: bool = False
    kube_version: str = ""  # "": the destination cluster's
    api_versions: tuple[str, ...] = ()  # (): the destination cluster's
    namespace: str = ""  # .Release.Namespace; "": the destination namespace
    skip_tests: bool = False  # test hooks are never rendered here, so true and false render alike


@dataclass(frozen=True)
class JsonnetVar:
    """An external variable or top-level argument; `code` makes `value` Jsonnet code, not a string."""

    name: str
    value: str
    code: bool = False


@dataclass(frozen=True)
class JsonnetOptions:
    ext_vars: tuple[JsonnetVar, ...] = ()
    tlas: tuple[JsonnetVar, ...] = ()
    libs: tuple[str, ...] = ()  # import search folders, relative to the repository root


@dataclass(frozen=True)
class DirectorySource:
    recurse: bool = False
    include: str = ""  # glob, may be "{a.yaml,b.yaml}"
    exclude: str = ""
    jsonnet: JsonnetOptions | None = None


@dataclass(frozen=True)
class KustomizeReplica:
    name: str
    count: int


@dataclass(frozen=True)
class KustomizeSource:
    name_prefix: str = ""
    name_suffix: str = ""
    images: tuple[str, ...] = ()
    common_labels: dict[str, str] = field(default_factory=dict)
    namespace: str = ""
    common_annotations: dict[str, str] = field(default_factory=dict)
    force_common_labels: bool = False
    force_common_annotations: bool = False
    common_annotations_envsubst: bool = False  # build variables are substituted in commonAnnotations values
    label_without_selector: bool = False
    replicas: tuple[KustomizeReplica, ...] = ()
    # Kustomize patches as written ({patch | path, target, options}); paths relative to the source path.
    patches: tuple[dict[str, Any], ...] = ()
    components: tuple[str, ...] = ()  # relative to the source path


@dataclass(frozen=True)
class Source:
    repo_url: str
    path: str = ""
    target_revision: str = "HEAD"
    chart: str = ""  # a chart from a Helm repository (repo_url: https://... or oci://...)
    helm: HelmSource | None = None
    directory: DirectorySource | None = None
    kustomize: KustomizeSource | None = None
    ref: str = ""  # multi-source: the name `$ref/...` value files of other sources use for this one
    name: str = ""  # multi-source: a label for people, shown in status

    @property
    def renders(self) -> bool:
        """False for a source that only supplies files to others (`ref` without path or chart)."""
        return bool(self.path or self.chart or not self.ref)

    @property
    def kind(self) -> str:
        """`Helm`, `Kustomize` or `Directory`; detection from files happens in render."""
        if self.helm is not None:
            return "Helm"
        if self.kustomize is not None:
            return "Kustomize"
        if self.directory is not None:
            return "Directory"
        return ""


@dataclass(frozen=True)
class Destination:
    server: str = ""
    name: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class Backoff:
    duration_seconds: float = 5.0
    factor: float = 2.0
    max_duration_seconds: float = 180.0


@dataclass(frozen=True)
class RetryPolicy:
    limit: int = 5  # < 0 retries forever
    backoff: Backoff = field(default_factory=Backoff)


@dataclass(frozen=True)
class AutomatedPolicy:
    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False


@dataclass(frozen=True)
class SyncPolicy:
    automated: AutomatedPolicy | None = None
    sync_options: tuple[str, ...] = ()
    retry: RetryPolicy | None = None
    # syncPolicy.managedNamespaceMetadata: put on the namespace CreateNamespace=true creates
    namespace_labels: tuple[tuple[str, str], ...] = ()
    namespace_annotations: tuple[tuple[str, str], ...] = ()

    def option(self, name: str) -> str | None:
        """Value of a `Name=value` sync option, or None when absent."""
        for opt in self.sync_options:
            key, _, value = opt.partition("=")
            if key.strip() == name:
                return value.strip()
        return None

    def option_enabled(self, name: str) -> bool:
        return (self.option(name) or "").lower() == "true"


@dataclass(frozen=True)
class ResourceIgnoreDifferences:
    group: str = ""  # glob; "" is the core group
    kind: str = ""  # glob
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Application:
    name: str
    namespace: str
    project: str
    source: Source  # with spec.sources: the first of them
    destination: Destination
    sync_policy: SyncPolicy = field(default_factory=SyncPolicy)
    ignore_differences: tuple[ResourceIgnoreDifferences, ...] = ()
    revision_history_limit: int = DEFAULT_REVISION_HISTORY_LIMIT
    finalizers: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    # The manifest as written, unknown fields included, so nothing a user wrote is lost.
    manifest: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    source_file: str = ""
    sources: tuple[Source, ...] = ()  # spec.sources (multi-source); () for spec.source

    @property
    def automated(self) -> bool:
        return self.sync_policy.automated is not None

    @property
    def all_sources(self) -> tuple[Source, ...]:
        """Every source: spec.sources, or spec.source alone."""
        return self.sources or (self.source,)


@dataclass(frozen=True)
class ProjectDestination:
    server: str = ""  # glob, "!" prefix denies
    name: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class GroupKind:
    group: str
    kind: str


@dataclass(frozen=True)
class OrphanedResourceKey:
    """An `orphanedResources.ignore` entry: Argo CD globs on group, kind and name ("" matches all)."""

    group: str = ""
    kind: str = ""
    name: str = ""


@dataclass(frozen=True)
class OrphanedResources:
    """AppProject spec.orphanedResources: present (even `{}`) turns orphaned-resource monitoring
    on; `warn` adds the OrphanedResourceWarning condition to apps that have any."""

    warn: bool = False
    ignore: tuple[OrphanedResourceKey, ...] = ()


@dataclass(frozen=True)
class SyncWindow:
    """AppProject spec.syncWindows[]: when automated (and, per manualSync, manual) syncs may run."""

    kind: str  # allow | deny
    schedule: str  # cron, five fields
    duration: float  # seconds
    time_zone: str = "UTC"
    applications: tuple[str, ...] = ()  # globs
    namespaces: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    manual_sync: bool = False
    duration_text: str = ""


@dataclass(frozen=True)
class ProjectRole:
    """AppProject spec.roles[]: policies of the role `proj:<project>:<name>` and the SSO groups bound to it."""

    name: str
    description: str = ""
    policies: tuple[str, ...] = ()  # "p, proj:<project>:<name>, <resource>, <action>, <project>/<object>, <effect>"
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppProject:
    name: str
    namespace: str
    source_repos: tuple[str, ...] = ()
    destinations: tuple[ProjectDestination, ...] = ()
    cluster_resource_whitelist: tuple[GroupKind, ...] = ()
    cluster_resource_blacklist: tuple[GroupKind, ...] = ()
    namespace_resource_whitelist: tuple[GroupKind, ...] = ()
    namespace_resource_blacklist: tuple[GroupKind, ...] = ()
    sync_windows: tuple[SyncWindow, ...] = ()
    roles: tuple[ProjectRole, ...] = ()
    orphaned_resources: OrphanedResources | None = None
    # spec.permitOnlyProjectScopedClusters: destinations only on clusters whose Secret names
    # this project (`project:`), as Argo CD's AppProject.IsDestinationPermitted.
    permit_only_project_scoped_clusters: bool = False
    # (name, server) of the cluster Secrets scoped to this project, filled where the project is
    # loaded with the system's clusters (control/catalog.py); read only with the flag above.
    scoped_clusters: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    manifest: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    source_file: str = ""


APPLICATION_KIND = "Application"
PROJECT_KIND = "AppProject"
# Argo CD: "The empty string means that application belongs to the 'default' project."
DEFAULT_PROJECT = "default"
# Where Argo CD keeps Applications and AppProjects when a manifest names no namespace.
DEFAULT_APP_NAMESPACE = "argocd"
# Argo CD's controller gives an automated sync `RetryStrategy{Limit: 5}` when the
# Application has no retry block (controller/appcontroller.go, autoSync).
DEFAULT_AUTOMATED_RETRY_LIMIT = 5
# The app name is written to the `app.kubernetes.io/instance` label of every object it
# owns, and label values are at most 63 characters.
MAX_TRACKED_APP_NAME = 63
MAX_DNS_SUBDOMAIN = 253

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")

__all__ = [
    "API_VERSION",
    "APPLICATION_KIND",
    "DEFAULT_APP_NAMESPACE",
    "DEFAULT_AUTOMATED_RETRY_LIMIT",
    "DEFAULT_PROJECT",
    "DEFAULT_REVISION_HISTORY_LIMIT",
    "IN_CLUSTER_SERVER",
    "MAX_DNS_SUBDOMAIN",
    "MAX_TRACKED_APP_NAME",
    "PROJECT_KIND",
    "RESOURCES_FINALIZER",
    "AppProject",
    "Application",
    "AutomatedPolicy",
    "Backoff",
    "Destination",
    "DirectorySource",
    "GroupKind",
    "HelmFileParameter",
    "HelmParameter",
    "HelmSource",
    "JsonnetOptions",
    "JsonnetVar",
    "KustomizeReplica",
    "KustomizeSource",
    "ProjectDestination",
    "ProjectRole",
    "ResourceIgnoreDifferences",
    "RetryPolicy",
    "Source",
    "SyncPolicy",
    "SyncWindow",
]
