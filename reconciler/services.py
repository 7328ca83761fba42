"""The long-lived clients one process needs, built once from Settings.

Workers, beat, the API and the CLI each make one `Services` and pass it down; no
module keeps a global client.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from reconciler.core.outbound import OutboundPolicy
from reconciler.engine.cluster import Clusters
from reconciler.engine.health.rules.configured import Customizations, loaded_customizations
from reconciler.model import SpecError
from reconciler.model.appset_types import ClusterSecret
from reconciler.model.parse_appset import parse_cluster_secret
from reconciler.settings import Settings
from reconciler.source.git.client import GitSource
from reconciler.source.git.credentials import CredentialStore
from reconciler.source.git.local_roots import LocalRepoPolicy
from reconciler.source.helm import ChartRepositories
from reconciler.state import Store
from reconciler.state.connection import redis_endpoint

log = logging.getLogger(__name__)


def registered_cluster_secrets(store: Store) -> list[ClusterSecret]:
    """The registered Argo CD cluster Secrets (unsealed), by Secret name; one that no longer
    parses is left out and logged by name (never its content: it holds credentials)."""
    clusters = []
    for name, manifest in sorted(store.cluster_manifests().items()):
        try:
            clusters.append(parse_cluster_secret(manifest, source_file=f"registered cluster {name}"))
        except SpecError:
            log.warning("registered cluster %s no longer parses: register it again with `reconciler cluster add`", name)
    return sorted(clusters, key=lambda c: c.secret_name)


def clusters_of(settings: Settings, store: Store) -> Clusters:
    """The process's cluster clients: registered cluster Secrets first, then the kubeconfig."""
    return Clusters(settings.kubeconfig, settings.field_manager, registered=lambda: registered_cluster_secrets(store))


def git_source(
    settings: Settings, shared_refs: Store | None = None, outbound: OutboundPolicy | None = None
) -> GitSource:
    """The Git source every process builds the same way: cache dir, credentials, timeouts, the
    addresses it may reach."""
    return GitSource(
        settings.git_cache_dir,
        CredentialStore.from_env(),
        timeout_seconds=settings.git_timeout,
        ref_cache_ttl=settings.git_ref_cache_ttl,
        shared_refs=shared_refs,
        local_repos=LocalRepoPolicy(roots=settings.local_repo_roots, forbidden=(settings.data_dir,)),
        outbound=outbound,
    )


def chart_repositories(
    settings: Settings, shared_versions: Store | None = None, outbound: OutboundPolicy | None = None
) -> ChartRepositories:
    """Helm repositories and OCI registries: the same credentials (by URL prefix), the same
    shared caching window as Git's ref listings and the same outbound policy."""
    return ChartRepositories(
        settings.data_dir / "helm",
        CredentialStore.from_env(),
        versions_ttl=settings.git_ref_cache_ttl,
        shared=shared_versions,
        outbound=outbound,
    )


@dataclass
class Services:
    settings: Settings
    store: Store
    git: GitSource
    clusters: Clusters
    charts: ChartRepositories

    @classmethod
    def create(cls, settings: Settings, redis_url: str = "") -> Services:
        """The clients of these settings; `redis_url` (tests, tools) names one Redis instead of
        what the settings say (reconciler/state/connection.py)."""
        store = Store.from_url(redis_url) if redis_url else Store.connect(redis_endpoint(settings))
        outbound = OutboundPolicy()  # one allow-list (RECONCILER_ALLOWED_PRIVATE_HOSTS) for every fetch
        return cls(
            settings=settings,
            store=store,
            git=git_source(settings, shared_refs=store, outbound=outbound),
            clusters=clusters_of(settings, store),
            charts=chart_repositories(settings, shared_versions=store, outbound=outbound),
        )

    def customizations(self) -> Customizations:
        """The resource customizations these settings name (Lua health checks, system-level
        ignore rules), loaded once and again when the file changes; a configuration that cannot
        be used comes back as `problem`, which every assessment reports."""
        return loaded_customizations(self.settings)

    def close(self) -> None:
        self.git.close()
        self.charts.close()
        self.store.r.close()
