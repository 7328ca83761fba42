"""The sync fence (engine/cluster/fence.py) as sync operations use it: claimed when an
operation starts, renewed before each step writes to the cluster, released when it ends.

Kept out of control/sync so the operation's code only asks three questions: may I start,
may I write, I am done.
"""

from __future__ import annotations

import logging

from reconciler.control.catalog import UnknownApplication, load_application
from reconciler.engine.cluster import Cluster, KubeError
from reconciler.engine.cluster.fence import Refused, SyncFence
from reconciler.model import Application, SpecError
from reconciler.services import Services

log = logging.getLogger("reconciler.fence")


def fence_of(services: Services, app: Application, cluster: Cluster | None = None) -> SyncFence:
    cluster = cluster or services.clusters.for_destination(app.destination)
    return SyncFence(cluster, services.settings.sync_fence_namespace, app.name)


def claim(services: Services, app: Application, operation: str, duration: float) -> Refused | None:
    """Take the app's fence for `operation`, or say which operation holds it."""
    refused = fence_of(services, app).claim(operation, duration)
    if refused:
        log.warning("sync waits: %s", refused.message, extra={"app": app.name, "operation": operation})
    return refused


def still_held(services: Services, app: Application, cluster: Cluster, operation: str, duration: float) -> bool:
    """Renew the fence if `operation` still holds it: the check before a step writes."""
    return fence_of(services, app, cluster).renew(operation, duration)


def release(services: Services, app_name: str, operation: str) -> None:
    """Give the fence up (best effort: an unreachable cluster lets it expire instead)."""
    try:
        app = load_application(services.store, app_name)
        fence_of(services, app).release(operation)
    except (UnknownApplication, SpecError, KubeError) as exc:
        log.info("sync fence not released (it expires): %s", exc, extra={"app": app_name, "operation": operation})
