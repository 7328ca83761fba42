"""The sync fence: a `coordination.k8s.io/v1` Lease per application in the destination cluster,
held by the sync operation that writes to it. The cluster-side half of "one sync at a time".

The Redis lock (state/locks.py) is what normally keeps two syncs of an app apart, but Redis
replicates asynchronously: a primary that dies a moment after granting a lock can leave a
promoted replica without it, and a second sync would take it. So the operation also holds
this Lease, and the cluster, not Redis, is the judge:

- claim (operation start): create the Lease (at once, without a read, for an app with no
  operation recorded yet), or replace an expired or released one with a
  `resourceVersion` precondition (the API server refuses a replace of a changed object with
  409), bumping `leaseTransitions`, the fencing token. A Lease held by another operation and
  renewed within its `leaseDurationSeconds` is refused.
- renew (before every step's cluster writes; a process that claimed or renewed the Lease a
  few seconds before takes that as the step's check, control/fencing.py): one JSON patch whose first operation is
  `test /spec/holderIdentity == <operation>`; the API server applies a JSON patch atomically,
  so the renewal happens only while this operation still holds the Lease: a compare-and-swap
  on the cluster side.
- release (operation end): the same test, then the holder cleared.

Why a step's writes after a successful renewal cannot overlap another operation's: another
operation can claim the Lease only after `leaseDurationSeconds` without renewal, every step
renews before it writes, and a step ends within the task's hard time limit, which is shorter
than the Lease duration (the lock TTL). This assumes the workers' clocks agree to within that
margin (minutes with the defaults), as Kubernetes leader election does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any

from reconciler.engine.cluster.client import Cluster
from reconciler.engine.cluster.errors import KubeError

LEASE_API = "/apis/coordination.k8s.io/v1"
NAME_PREFIX = "reconciler-sync-"
JSON_PATCH = "application/json-patch+json"


def lease_name(app: str) -> str:
    return f"{NAME_PREFIX}{app}"[:253]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _micro_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


@dataclass(frozen=True)
class Refused:
    """Another operation holds the app's Lease (or raced us to it): this one must not write."""

    holder: str
    message: str


@dataclass(frozen=True)
class SyncFence:
    cluster: Cluster
    namespace: str
    app: str

    @property
    def _path(self) -> str:
        return f"{LEASE_API}/namespaces/{self.namespace}/leases"

    @property
    def _where(self) -> str:
        return f"Lease {self.namespace}/{lease_name(self.app)}"

    def _request(self, what: str, method: str, path: str, **params: Any) -> dict[str, Any]:
        try:
            return self.cluster._request(f"{what} {self._where}", method, path, **params)
        except KubeError as exc:
            if exc.status == 403:
                raise KubeError(
                    f"{exc}; the sync fence needs get, create, update and patch on coordination.k8s.io "
                    f"leases in namespace {self.namespace} (RECONCILER_SYNC_FENCE_NAMESPACE)",
                    status=exc.status, reason=exc.reason,
                ) from None
            if exc.status == 404 and "namespaces" in str(exc).lower() and method != "get":
                raise KubeError(
                    f"{exc}; create namespace {self.namespace} or point RECONCILER_SYNC_FENCE_NAMESPACE at one "
                    "that exists", status=exc.status, reason=exc.reason,
                ) from None
            raise

    def _spec(self, operation: str, duration: float, transitions: int, acquired: dt.datetime) -> dict[str, Any]:
        return {
            "holderIdentity": operation,
            "leaseDurationSeconds": max(int(duration + 0.999), 1),
            "acquireTime": _micro_time(acquired),
            "renewTime": _micro_time(_now()),
            "leaseTransitions": transitions,
        }

    def claim(self, operation: str, duration: float, probably_new: bool = False) -> Refused | None:
        """Take the Lease for `operation` (None), or say who holds it (Refused). `probably_new`:
        no sync of the app ever started, so its Lease most likely does not exist: create it
        without reading it first (one request instead of two; a 409 reads it as usual)."""
        with self.cluster.acting_for(operation):  # the audit log names the operation, as for its writes
            return self._claim(operation, duration, probably_new)

    def _claim(self, operation: str, duration: float, probably_new: bool) -> Refused | None:
        name = lease_name(self.app)
        if probably_new and self._create(operation, duration) is None:
            return None
        try:
            lease = self._request("get", "get", f"{self._path}/{name}")
        except KubeError as exc:
            if exc.status != 404:
                raise
            return self._create(operation, duration)
        spec = lease.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        if holder == operation:
            return None if self.renew(operation, duration) else Refused(holder, "the Lease changed under us")
        renewed = _parse(spec.get("renewTime"))
        expires = renewed + dt.timedelta(seconds=float(spec.get("leaseDurationSeconds") or 0)) if renewed else None
        if holder and expires is not None and expires > _now():
            return Refused(holder, f"sync operation {holder} holds {self._where} until {_micro_time(expires)}")
        lease["spec"] = self._spec(operation, duration, int(spec.get("leaseTransitions") or 0) + 1, _now())
        try:  # metadata.resourceVersion is the precondition: a replace of a changed Lease is a 409
            self._request("replace", "put", f"{self._path}/{name}", body=lease)
        except KubeError as exc:
            if exc.status == 409:
                return Refused("", "another sync of this application took its Lease at the same moment")
            raise
        return None

    def _create(self, operation: str, duration: float) -> Refused | None:
        name = lease_name(self.app)
        body = {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": self.namespace, "labels": {"app.kubernetes.io/managed-by":
                                                                              "gitops-reconciler"}},
            "spec": self._spec(operation, duration, 1, _now()),
        }
        try:
            self._request("create", "post", self._path, body=body)
        except KubeError as exc:
            if exc.status == 409:
                return Refused("", "another sync of this application claimed its Lease at the same moment")
            raise
        return None

    def renew(self, operation: str, duration: float) -> bool:
        """Extend the Lease if `operation` still holds it (False: it does not; write nothing)."""
        patch = [
            {"op": "test", "path": "/spec/holderIdentity", "value": operation},
            {"op": "replace", "path": "/spec/renewTime", "value": _micro_time(_now())},
            {"op": "replace", "path": "/spec/leaseDurationSeconds", "value": max(int(duration + 0.999), 1)},
        ]
        with self.cluster.acting_for(operation):
            return self._patch("renew", patch)

    def release(self, operation: str) -> bool:
        """Give the Lease up if `operation` holds it; False when it did not."""
        patch = [
            {"op": "test", "path": "/spec/holderIdentity", "value": operation},
            {"op": "replace", "path": "/spec/holderIdentity", "value": ""},
        ]
        with self.cluster.acting_for(operation):
            return self._patch("release", patch)

    def _patch(self, what: str, patch: list[dict[str, Any]]) -> bool:
        try:
            self._request(what, "patch", f"{self._path}/{lease_name(self.app)}", body=patch, content_type=JSON_PATCH)
        except KubeError as exc:
            if exc.status in (404, 409, 422):  # gone, or the test operation failed: not ours
                return False
            raise
        return True
