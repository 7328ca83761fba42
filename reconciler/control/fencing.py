"""The sync fence (engine/cluster/fence.py) as sync operations use it: claimed when an
operation starts, renewed before each step writes to the cluster, released when it ends.

Kept out of control/sync so the operation's code only asks three questions: may I start,
may I write, I am done.
"""

from __future__ import annotations

import logging
import threading
import time

from reconciler.control.catalog import UnknownApplication, load_application
from reconciler.engine.cluster import Cluster, KubeError
from reconciler.engine.cluster.fence import Refused, SyncFence
from reconciler.model import Application, SpecError
from reconciler.services import Services

log = logging.getLogger("reconciler.fence")

# A renewal this process made a moment ago stands for the next step's check, so steps run back
# to back in one task (and the first one, right after the claim) cost no request each. Sound
# for the reason every renewal is (engine/cluster/fence.py): no other operation can take the
# Lease before its renewal time plus its duration, and a step that starts within this window
# of the renewal ends within the task's hard time limit, which with the window stays shorter
# than the duration (workers/celery_app.py: the lock TTL is over three time limits).
REUSE_MAX_SECONDS = 5.0
_renewed: dict[tuple[str, str, str], float] = {}
_renewed_guard = threading.Lock()


def _reuse_window(duration: float) -> float:
    return min(REUSE_MAX_SECONDS, duration / 10)


def _note_renewed(cluster: Cluster, app: str, operation: str) -> None:
    now = time.monotonic()
    with _renewed_guard:
        for key in [k for k, at in _renewed.items() if now - at > REUSE_MAX_SECONDS]:
            del _renewed[key]
        _renewed[(cluster.server, app, operation)] = now


def _renewed_within(cluster: Cluster, app: str, operation: str, seconds: float) -> bool:
    with _renewed_guard:
        at = _renewed.get((cluster.server, app, operation))
    return at is not None and time.monotonic() - at < seconds


def fence_of(services: Services, app: Application, cluster: Cluster | None = None) -> SyncFence:
    cluster = cluster or services.clusters.for_destination(app.destination)
    return SyncFence(cluster, services.settings.sync_fence_namespace, app.name)


def claim(
    services: Services, app: Application, operation: str, duration: float, probably_new: bool = False
) -> Refused | None:
    """Take the app's fence for `operation`, or say which operation holds it. `probably_new`: no
    operation of the app was ever recorded, so its Lease is created without a read first."""
    fence = fence_of(services, app)
    refused = fence.claim(operation, duration, probably_new=probably_new)
    if refused:
        log.warning("sync waits: %s", refused.message, extra={"app": app.name, "operation": operation})
    else:
        _note_renewed(fence.cluster, app.name, operation)
    return refused


def still_held(services: Services, app: Application, cluster: Cluster, operation: str, duration: float) -> bool:
    """Renew the fence if `operation` still holds it: the check before a step writes (none when
    this process claimed or renewed it within the last few seconds, see REUSE_MAX_SECONDS)."""
    if _renewed_within(cluster, app.name, operation, _reuse_window(duration)):
        return True
    held = fence_of(services, app, cluster).renew(operation, duration)
    if held:
        _note_renewed(cluster, app.name, operation)
    return held


def release(services: Services, app_name: str, operation: str) -> None:
    """Give the fence up (best effort: an unreachable cluster lets it expire instead)."""
    try:
        app = load_application(services.store, app_name)
        fence = fence_of(services, app)
        with _renewed_guard:
            _renewed.pop((fence.cluster.server, app_name, operation), None)
        fence.release(operation)
    except (UnknownApplication, SpecError, KubeError) as exc:
        log.info("sync fence not released (it expires): %s", exc, extra={"app": app_name, "operation": operation})
