"""LIST and WATCH at a resourceVersion, over raw HTTP.

Behaviour taken from https://kubernetes.io/docs/reference/using-api/api-concepts/:
- #semantics-for-get-and-list: resourceVersion unset / "0" / NotOlderThan / Exact;
  "resourceVersionMatch is forbidden unless resourceVersion is provided" (ListOptions validation);
- #retrieving-large-results-sets-in-chunks: limit/continue read one consistent snapshot, and
  "410 Gone" once that version is compacted away;
- #410-gone-responses: a watch from a version older than the history gets an ERROR 410;
- #watch-bookmarks: with allowWatchBookmarks=true the server sends BOOKMARK events carrying
  the resourceVersion reached.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kubesim import KubeSim

CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
def small_history() -> Iterator[KubeSim]:
    with KubeSim(watch_history=5, bookmark_interval=0.2) as sim:
        yield sim


def put(url: str, name: str, value: str = "v") -> dict[str, Any]:
    response = httpx.post(url + CM, json={"metadata": {"name": name}, "data": {"k": value}})
    if response.status_code == 409:
        current = httpx.get(f"{url}{CM}/{name}").json()
        current["data"] = {"k": value}
        response = httpx.put(f"{url}{CM}/{name}", json=current)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def names(body: dict[str, Any]) -> list[str]:
    return [item["metadata"]["name"] for item in body["items"]]


def test_exact_list_returns_the_state_at_that_version(kubesim: KubeSim) -> None:
    put(kubesim.url, "a")
    rv = put(kubesim.url, "b")["metadata"]["resourceVersion"]
    put(kubesim.url, "c")
    httpx.delete(f"{kubesim.url}{CM}/a")

    body = httpx.get(kubesim.url + CM, params={"resourceVersion": rv, "resourceVersionMatch": "Exact"}).json()

    assert names(body) == ["a", "b"]
    assert body["metadata"]["resourceVersion"] == rv


def test_exact_list_older_than_the_history_is_410(small_history: KubeSim) -> None:
    rv = put(small_history.url, "a")["metadata"]["resourceVersion"]
    for i in range(8):
        put(small_history.url, "b", str(i))

    response = httpx.get(small_history.url + CM, params={"resourceVersion": rv, "resourceVersionMatch": "Exact"})

    assert response.status_code == 410
    assert response.json()["reason"] == "Expired"
    assert response.json()["message"] == "The resourceVersion for the provided list is too old."


def test_resource_version_match_without_resource_version_is_invalid(kubesim: KubeSim) -> None:
    response = httpx.get(kubesim.url + CM, params={"resourceVersionMatch": "Exact"})

    assert response.status_code == 422
    assert response.json()["message"] == ('ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: '
                                          "resourceVersionMatch is forbidden unless resourceVersion is provided")


def test_list_not_older_than_a_future_version_is_a_504_too_large(kubesim: KubeSim) -> None:
    response = httpx.get(kubesim.url + CM, params={"resourceVersion": "999999",
                                                   "resourceVersionMatch": "NotOlderThan"})

    assert response.status_code == 504
    assert response.json()["message"].startswith("Too large resource version: 999999, current: ")


def test_resource_version_zero_serves_the_current_state(kubesim: KubeSim) -> None:
    put(kubesim.url, "a")

    body = httpx.get(kubesim.url + CM, params={"resourceVersion": "0"}).json()

    assert names(body) == ["a"]


def test_continued_pages_come_from_the_first_pages_snapshot(kubesim: KubeSim) -> None:
    for name in ("a", "b", "c"):
        put(kubesim.url, name)
    first = httpx.get(kubesim.url + CM, params={"limit": "2"}).json()
    put(kubesim.url, "d")  # created after the first page: not part of that list
    httpx.delete(f"{kubesim.url}{CM}/c")  # deleted after the first page: still part of it

    second = httpx.get(kubesim.url + CM, params={"limit": "2", "continue": first["metadata"]["continue"]}).json()

    assert names(first) == ["a", "b"]
    assert names(second) == ["c"]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_continue_token_past_the_history_is_410(small_history: KubeSim) -> None:
    for name in ("a", "b", "c"):
        put(small_history.url, name)
    first = httpx.get(small_history.url + CM, params={"limit": "1"}).json()
    for i in range(8):
        put(small_history.url, "z", str(i))

    response = httpx.get(small_history.url + CM, params={"limit": "1", "continue": first["metadata"]["continue"]})

    assert response.status_code == 410
    assert response.json()["message"].startswith("The provided continue parameter is too old to display a "
                                                  "consistent list result.")


def watch_lines(url: str, params: dict[str, str]) -> list[dict[str, Any]]:
    with httpx.stream("GET", url + CM, params={"watch": "true", **params}, timeout=10) as response:
        return [json.loads(line) for line in response.iter_lines() if line]


def test_watch_from_a_version_older_than_the_history_gets_410_gone(small_history: KubeSim) -> None:
    rv = put(small_history.url, "a")["metadata"]["resourceVersion"]
    for i in range(8):
        put(small_history.url, "a", str(i))

    [event] = watch_lines(small_history.url, {"resourceVersion": rv, "timeoutSeconds": "1"})

    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert event["object"]["message"].startswith(f"too old resource version: {rv} (")


def test_watch_with_bookmarks_sends_periodic_bookmarks_with_the_current_version(small_history: KubeSim) -> None:
    rv = put(small_history.url, "a")["metadata"]["resourceVersion"]

    events = watch_lines(small_history.url, {"resourceVersion": rv, "allowWatchBookmarks": "true",
                                             "timeoutSeconds": "1"})

    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert len(bookmarks) >= 2
    assert bookmarks[-1]["object"]["metadata"]["resourceVersion"] == rv


def test_watch_without_bookmarks_asked_sends_none(small_history: KubeSim) -> None:
    rv = put(small_history.url, "a")["metadata"]["resourceVersion"]

    events = watch_lines(small_history.url, {"resourceVersion": rv, "timeoutSeconds": "1"})

    assert events == []
