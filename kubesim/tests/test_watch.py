"""Watch streams through DynamicClient.watch and raw HTTP.

Behaviour taken from:
- https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes
  (watch from a resourceVersion; newline-delimited {type, object} events; ADDED/MODIFIED/DELETED)
- https://kubernetes.io/docs/reference/using-api/api-concepts/#semantics-for-watch (no
  resourceVersion or "0": synthetic ADDED events for the current state first)
- https://kubernetes.io/docs/reference/using-api/api-concepts/#410-gone-responses (too old a
  resourceVersion: an ERROR event carrying a 410 Expired Status)
- https://kubernetes.io/docs/reference/using-api/api-concepts/#watch-bookmarks (timeoutSeconds ends a watch)
- apimachinery Convert_Slice_string_To_bool: query booleans are true unless "0" or "false".
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from kubernetes.client.rest import ApiException


def configmaps(client: Any) -> Any:
    return client.resources.get(api_version="v1", kind="ConfigMap")


def create(client: Any, name: str, labels: dict[str, str] | None = None, namespace: str = "default") -> Any:
    return configmaps(client).create(namespace=namespace, body={"metadata": {"name": name, "labels": labels or {}},
                                                                "data": {"k": "v"}})


def events(client: Any, **kwargs: Any) -> list[tuple[str, str]]:
    """(type, name) of every event a watch delivers before its timeout ends it."""
    return [(e["type"], e["object"].metadata.name) for e in client.watch(configmaps(client), timeout=1, **kwargs)]


def test_watch_without_resource_version_starts_with_added_for_existing(kube_client: Any) -> None:
    create(kube_client, "a")
    create(kube_client, "b")
    assert events(kube_client, namespace="default") == [("ADDED", "a"), ("ADDED", "b")]


def test_watch_from_resource_version_sends_only_later_changes(kube_client: Any) -> None:
    first = create(kube_client, "a")
    configmaps(kube_client).patch(name="a", namespace="default", body={"data": {"k": "2"}},
                                  content_type="application/merge-patch+json")
    configmaps(kube_client).delete(name="a", namespace="default")
    assert events(kube_client, namespace="default", resource_version=first.metadata.resourceVersion) == [
        ("MODIFIED", "a"), ("DELETED", "a")]


def test_deleted_event_carries_a_newer_resource_version(kube_client: Any) -> None:
    created = create(kube_client, "a")
    configmaps(kube_client).delete(name="a", namespace="default")
    stream = kube_client.watch(configmaps(kube_client), namespace="default", timeout=1,
                               resource_version=created.metadata.resourceVersion)
    deleted = [e for e in stream if e["type"] == "DELETED"]
    assert int(deleted[0]["object"].metadata.resourceVersion) > int(created.metadata.resourceVersion)


def test_watch_honours_namespace(kube_client: Any) -> None:
    kube_client.resources.get(api_version="v1", kind="Namespace").create(body={"metadata": {"name": "other"}})
    create(kube_client, "here")
    create(kube_client, "there", namespace="other")
    assert events(kube_client, namespace="other") == [("ADDED", "there")]


def test_watch_honours_label_selector(kube_client: Any) -> None:
    create(kube_client, "web", {"app": "web"})
    create(kube_client, "db", {"app": "db"})
    assert events(kube_client, namespace="default", label_selector="app=web") == [("ADDED", "web")]


def test_object_leaving_the_selection_is_seen_as_deleted(kube_client: Any) -> None:
    created = create(kube_client, "web", {"app": "web"})
    configmaps(kube_client).patch(name="web", namespace="default", body={"metadata": {"labels": {"app": "x"}}},
                                  content_type="application/merge-patch+json")
    assert events(kube_client, namespace="default", label_selector="app=web",
                  resource_version=created.metadata.resourceVersion) == [("DELETED", "web")]


def test_watch_honours_field_selector_on_name(kube_client: Any) -> None:
    create(kube_client, "a")
    create(kube_client, "b")
    assert events(kube_client, namespace="default", name="b") == [("ADDED", "b")]


def test_too_old_resource_version_is_a_410_expired_error(kubesim: Any, kube_client: Any) -> None:
    created = create(kube_client, "a")
    create(kube_client, "b")
    kubesim.api.reset()  # drops the event history, as compaction would
    with pytest.raises(ApiException) as err:
        events(kube_client, namespace="default", resource_version=created.metadata.resourceVersion)
    assert err.value.status == 410
    assert "Expired" in err.value.reason


def test_raw_watch_stream_is_chunked_newline_delimited_json(kubesim: Any, kube_client: Any) -> None:
    create(kube_client, "a")
    with httpx.stream("GET", kubesim.url + "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1") as r:
        assert r.headers["transfer-encoding"] == "chunked"
        assert r.headers["content-type"] == "application/json"
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert [(e["type"], e["object"]["kind"], e["object"]["metadata"]["name"]) for e in lines] == [
        ("ADDED", "ConfigMap", "a")]


@pytest.mark.parametrize("flag", ["true", "True", "1", "t"])
def test_watch_flag_is_true_unless_false_or_zero(kubesim: Any, flag: str) -> None:
    with httpx.stream("GET", kubesim.url + f"/api/v1/namespaces?watch={flag}&timeoutSeconds=1") as r:
        first = json.loads(next(line for line in r.iter_lines() if line))
    assert first["type"] == "ADDED"


@pytest.mark.parametrize("flag", ["false", "False", "0"])
def test_watch_false_returns_a_list(kubesim: Any, flag: str) -> None:
    body = httpx.get(kubesim.url + f"/api/v1/namespaces?watch={flag}").json()
    assert body["kind"] == "NamespaceList"


def test_watch_with_malformed_selector_is_400_before_streaming(kubesim: Any) -> None:
    response = httpx.get(kubesim.url + "/api/v1/configmaps?watch=true&labelSelector=a%20in%20(b")
    assert response.status_code == 400


def test_send_initial_events_ends_with_an_initial_events_end_bookmark(kubesim: Any, kube_client: Any) -> None:
    created = create(kube_client, "a")
    query = (f"watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan"
             f"&resourceVersion={created.metadata.resourceVersion}&timeoutSeconds=1")
    with httpx.stream("GET", kubesim.url + "/api/v1/namespaces/default/configmaps?" + query) as r:
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert [e["type"] for e in lines] == ["ADDED", "BOOKMARK"]
    assert lines[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
