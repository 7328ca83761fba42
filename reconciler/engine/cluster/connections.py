"""Which cluster an Application destination means: a registered Argo CD cluster Secret (by its
name or server, connecting with its `config`), kubeconfig contexts by server URL or name, or the
in-cluster service account; one client per cluster, made once and reused (made again when the
Secret's server or credentials change)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from reconciler.engine.cluster.client import Cluster
from reconciler.engine.cluster.errors import KubeError
from reconciler.engine.cluster.managed_scope import ManagedScope
from reconciler.engine.cluster.resource_types import DEFAULT_FIELD_MANAGER
from reconciler.engine.cluster.secret_config import api_client_for_secret, config_fingerprint
from reconciler.model import IN_CLUSTER_SERVER, Destination
from reconciler.model.appset_types import ClusterSecret

# How long the registered cluster Secrets read once answer every destination: a Secret added or
# rotated is used within this many seconds, and a poll of each app costs no read of them.
REGISTERED_TTL_SECONDS = 5.0


def _normalise_server(url: str) -> str:
    return url.strip().rstrip("/").lower()


class Clusters:
    """Clients per Application destination, made once and reused.

    A registered cluster Secret whose name or server is the destination's comes first: with
    credentials in its `config` the client uses them (as Argo CD does); without, its server is
    looked up among the kubeconfig's contexts. `https://kubernetes.default.svc` (or the name
    `in-cluster`) is the cluster this system runs in: the pod's service account in a pod, else
    the current kubeconfig context. Other servers and names are looked up among the kubeconfig's
    contexts. `registered` returns the registered cluster Secrets (read from the store by the
    process's Services; the engine reads no Redis).
    """

    def __init__(
        self,
        kubeconfig: str = "",
        field_manager: str = DEFAULT_FIELD_MANAGER,
        registered: Callable[[], Iterable[ClusterSecret]] | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig or os.environ.get("KUBECONFIG", "")
        self.field_manager = field_manager
        self._clusters: dict[str, Cluster] = {}
        self._lock = threading.Lock()
        self._registered = registered
        self._secrets: tuple[float, list[ClusterSecret]] = (-REGISTERED_TTL_SECONDS, [])

    def clusters(self) -> list[Cluster]:
        with self._lock:
            return list(self._clusters.values())

    def for_destination(self, destination: Destination) -> Cluster:
        secret = self._secret_for(destination)
        cluster = self._connected(destination, secret)
        cluster.managed_scope = _managed_scope(secret)
        return cluster

    def _connected(self, destination: Destination, secret: ClusterSecret | None) -> Cluster:
        if secret is not None and not secret.config:
            # Declared without credentials: its server among the kubeconfig's contexts.
            destination = Destination(server=secret.server, namespace=destination.namespace)
            secret = None
        key = destination.name or _normalise_server(destination.server or IN_CLUSTER_SERVER)
        if secret is not None:
            key = f"secret:{_normalise_server(secret.server)}:{config_fingerprint(secret)}"
        with self._lock:
            cluster = self._clusters.get(key)
            if cluster is None:
                if secret is None:
                    cluster = Cluster(self._api_client(destination), field_manager=self.field_manager)
                else:
                    cluster = _secret_cluster(secret, self.field_manager)
                    # Forget the client of the Secret's earlier credentials (not closed: a step of a
                    # sync may still be using it; it goes when the last user lets go).
                    stale = key.rsplit(":", 1)[0] + ":"
                    for old in [k for k in self._clusters if k.startswith(stale)]:
                        del self._clusters[old]
                self._clusters[key] = cluster
            return cluster

    def _secret_for(self, destination: Destination) -> ClusterSecret | None:
        """The registered cluster Secret the destination names (by name, else by server)."""
        if self._registered is None:
            return None
        with self._lock:
            read_at, secrets = self._secrets
            if time.monotonic() - read_at >= REGISTERED_TTL_SECONDS:
                secrets = list(self._registered())
                self._secrets = (time.monotonic(), secrets)
        if destination.name:
            return next((s for s in secrets if s.name == destination.name), None)
        server = _normalise_server(destination.server or IN_CLUSTER_SERVER)
        return next((s for s in secrets if _normalise_server(s.server) == server), None)

    def _api_client(self, destination: Destination) -> k8s_client.ApiClient:
        in_cluster = destination.name == "in-cluster" or (
            not destination.name and _normalise_server(destination.server or IN_CLUSTER_SERVER)
            == _normalise_server(IN_CLUSTER_SERVER)
        )
        if in_cluster and os.environ.get("KUBERNETES_SERVICE_HOST") and not self.kubeconfig:
            configuration = k8s_client.Configuration()
            k8s_config.load_incluster_config(client_configuration=configuration)
            return k8s_client.ApiClient(configuration)
        context = None if in_cluster else self._context_for(destination)
        try:
            return k8s_config.new_client_from_config(config_file=self.kubeconfig or None, context=context)
        except (k8s_config.ConfigException, OSError) as exc:
            where = self.kubeconfig or "~/.kube/config"
            raise KubeError(
                f"cannot load kubeconfig {where} for destination "
                f"{destination.name or destination.server or IN_CLUSTER_SERVER}: {exc}; set KUBECONFIG"
            ) from None

    def _context_for(self, destination: Destination) -> str:
        try:
            contexts, _ = k8s_config.list_kube_config_contexts(config_file=self.kubeconfig or None)
        except (k8s_config.ConfigException, OSError) as exc:
            raise KubeError(f"cannot read kubeconfig {self.kubeconfig or '~/.kube/config'}: {exc}") from None
        clusters = _kubeconfig_clusters(self.kubeconfig)
        for ctx in contexts:
            cluster_name = (ctx.get("context") or {}).get("cluster", "")
            if destination.name and destination.name in (ctx.get("name"), cluster_name):
                return str(ctx["name"])
            server = clusters.get(cluster_name, "")
            if destination.server and _normalise_server(server) == _normalise_server(destination.server):
                return str(ctx["name"])
        wanted = destination.name or destination.server
        raise KubeError(
            f"no kubeconfig context for destination {wanted!r}: add a context whose cluster "
            "server (or name) matches it to KUBECONFIG"
        )


def _managed_scope(secret: ClusterSecret | None) -> ManagedScope | None:
    """The namespaced mode a Secret with `namespaces` puts its cluster in (None: all of it)."""
    if secret is None or not secret.namespaces:
        return None
    return ManagedScope(
        cluster=secret.name,
        secret=f"{secret.namespace}/{secret.secret_name}",
        namespaces=secret.namespaces,
        cluster_resources=secret.cluster_resources,
    )


def _secret_cluster(secret: ClusterSecret, field_manager: str) -> Cluster:
    """The cluster a registered Secret declares, connected with its config (discovery runs now, so
    a refused token or an untrusted certificate shows here), naming the Secret to fix."""
    try:
        return Cluster(api_client_for_secret(secret), field_manager=field_manager)
    except KubeError as exc:
        first_line = str(exc).splitlines()[0]
        raise KubeError(
            f"cluster {secret.name!r} (Secret {secret.namespace}/{secret.secret_name}): {first_line}; check the "
            "Secret's config (bearerToken or username/password, tlsClientConfig.caData for the server's CA) "
            "and register it again with `reconciler cluster add -f`",
            status=exc.status,
            reason=exc.reason,
        ) from None


def _kubeconfig_clusters(path: str) -> dict[str, str]:
    import yaml

    files = [p for p in (path or os.path.expanduser("~/.kube/config")).split(os.pathsep) if p]
    servers: dict[str, str] = {}
    for file in files:
        try:
            with open(file) as fh:
                doc = yaml.safe_load(fh) or {}
        except OSError:
            continue
        for entry in doc.get("clusters") or []:
            servers.setdefault(entry.get("name", ""), (entry.get("cluster") or {}).get("server", ""))
    return servers
