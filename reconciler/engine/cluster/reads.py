"""The reads of a Cluster that walk many objects: paged lists, watches, and the LISTs by the
tracking label that find an app's live objects (a mixin of engine/cluster/client.py's
Cluster, which supplies discovery and the request plumbing)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError
from kubernetes.watch.watch import iter_resp_lines

from reconciler.engine.cluster.errors import KubeError, UnknownKindError, server_message
from reconciler.engine.cluster.resource_types import ResourceType
from reconciler.model.resources import TRACKING_LABEL


class ClusterReads:
    """Paged lists, watches and tracked-object LISTs; Cluster provides what is declared here."""

    dynamic: DynamicClient
    server: str
    request_counts: Counter[tuple[str, str]]

    def _path(self, obj_type: ResourceType, namespace: str | None, name: str | None = None) -> str:
        raise NotImplementedError

    def _request(self, what: str, method: str, path: str, **params: Any) -> dict[str, Any]:
        raise NotImplementedError

    def resource_type(self, api_version: str, kind: str, *, trust_recent_miss: bool = False) -> ResourceType:
        raise NotImplementedError

    def listable_types(self) -> list[ResourceType]:
        raise NotImplementedError

    def is_namespaced(self, api_version: str, kind: str) -> bool:
        raise NotImplementedError

    def list(
        self, api_version: str, kind: str, *, namespace: str | None = None, label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        raise NotImplementedError

    def list_pages(
        self, rtype: ResourceType, namespace: str | None = None, page_size: int = 500
    ) -> Iterator[tuple[list[dict[str, Any]], str]]:
        """Every object of one kind (in `namespace`, or cluster-wide), page by page (limit and
        continue), so a caller never holds more than a page it has not consumed. Each page comes
        with its resourceVersion: watch from the first page's (the list's snapshot; a server
        that served later pages fresher, replays a few changes to the watch, which is harmless)."""
        path = self._path(rtype, namespace if rtype.namespaced else None)
        token: str | None = None
        while True:
            page = self._request(f"list {rtype.kind}", "get", path, limit=page_size, _continue=token)
            items = page.get("items") or []
            for item in items:
                item.setdefault("apiVersion", rtype.api_version)
                item.setdefault("kind", rtype.kind)
            meta = page.get("metadata") or {}
            token = meta.get("continue") or None
            yield items, str(meta.get("resourceVersion") or "")
            if not token:
                return

    def watch(
        self, rtype: ResourceType, namespace: str | None, resource_version: str, timeout_seconds: int
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """(type, object) events of one kind after `resource_version`, with bookmarks, until the
        server ends the stream (about `timeout_seconds`). An ERROR event (410 Gone: the version
        left the server's history) is yielded as it is: the caller relists. The request is made
        here (a refusal raises KubeError now); the events are read as they are iterated."""
        path = self._path(rtype, namespace if rtype.namespaced else None)
        try:
            resp = self.dynamic.request(
                "get", path, serialize=False, watch="true", resource_version=resource_version,
                allow_watch_bookmarks="true", timeout_seconds=timeout_seconds,
                _request_timeout=(10, timeout_seconds + 30),
            )
        except DynamicApiError as exc:
            message, status, reason = server_message(exc)
            self.request_counts[("watch", str(status))] += 1
            raise KubeError(f"watch {rtype.kind}: {message}", status=status, reason=reason) from None
        except Exception as exc:
            self.request_counts[("watch", "error")] += 1
            raise KubeError(f"watch {rtype.kind}: cannot reach the Kubernetes API at {self.server}: {exc}") from None
        self.request_counts[("watch", "200")] += 1
        return self._watch_events(rtype, resp)

    def _watch_events(self, rtype: ResourceType, resp: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        try:
            for line in iter_resp_lines(resp):
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") != "ERROR":
                    obj.setdefault("apiVersion", rtype.api_version)
                    obj.setdefault("kind", rtype.kind)
                yield str(event.get("type", "")), obj
        except Exception as exc:  # the connection dropped mid-stream
            raise KubeError(f"watch {rtype.kind}: the stream from {self.server} broke: {exc}") from None
        finally:
            resp.release_conn()

    def list_tracked(
        self,
        app_name: str,
        types: Iterable[tuple[str, str]] | None = None,
        namespaces: Iterable[str] = (),
    ) -> list[dict[str, Any]]:
        """Live objects labelled as the app's: one LIST per kind with a label selector.

        `types` are (apiVersion, kind) pairs to look at; None looks at every listable kind.
        Kinds the server does not serve (a CRD gone) are skipped, not fatal. Where RBAC forbids
        a cluster-wide LIST (a namespace-scoped install), namespaced kinds are listed in each of
        `namespaces` instead, and forbidden cluster-scoped kinds are skipped: this system could
        not have created them.
        """
        selector = f"{TRACKING_LABEL}={app_name}"
        pairs = [(t.api_version, t.kind) for t in self.listable_types()] if types is None else sorted(set(types))
        found: list[dict[str, Any]] = []
        for api_version, kind in pairs:
            try:
                # A read that skips what is not served: a recent "not served" note may answer
                # (polls of many apps whose inventory names a deleted CRD's kind).
                self.resource_type(api_version, kind, trust_recent_miss=True)
                found.extend(self.list(api_version, kind, label_selector=selector))
            except UnknownKindError:  # before KubeError, its base class: a kind not served has no objects
                continue
            except KubeError as exc:
                if exc.status == 403:
                    found.extend(self._list_per_namespace(api_version, kind, selector, namespaces))
                    continue
                if exc.status in (404, 405):
                    continue
                raise
        return found

    def _list_per_namespace(
        self, api_version: str, kind: str, selector: str, namespaces: Iterable[str]
    ) -> list[dict[str, Any]]:
        if not self.is_namespaced(api_version, kind):
            return []
        found: list[dict[str, Any]] = []
        for namespace in sorted({ns for ns in namespaces if ns}):
            try:
                found.extend(self.list(api_version, kind, namespace=namespace, label_selector=selector))
            except KubeError as exc:
                if exc.status not in (403, 404):
                    raise
        return found
