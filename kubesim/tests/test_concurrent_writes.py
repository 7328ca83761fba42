"""Concurrent writes to one object. The API server applies a PATCH, a server-side apply or a PUT
without a resourceVersion inside GuaranteedUpdate, which reads the object again and re-applies
the change when another write came in between: such writes never fail with 409 Conflict for
having raced. A write whose body names a resourceVersion is a precondition, and a stale one is
a 409 ("the object has been modified").
https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions and
apiserver's pkg/registry/generic/registry Store.Update (GuaranteedUpdate)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from kubesim import KubeSim

CONFIG_MAPS = "/api/v1/namespaces/default/configmaps"
WRITERS = 8
WRITES_EACH = 40


def _create(http: httpx.Client) -> None:
    created = http.post(CONFIG_MAPS, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}})
    assert created.status_code == 201, created.text


def _write_all(kubesim: KubeSim, write: Any) -> list[int]:
    def writer(index: int) -> list[int]:
        with httpx.Client(base_url=kubesim.url, timeout=30) as http:
            return [write(http, index, n) for n in range(WRITES_EACH)]

    with ThreadPoolExecutor(WRITERS) as pool:
        return [code for codes in pool.map(writer, range(WRITERS)) for code in codes]


def test_merge_patches_without_a_resource_version_never_conflict(kubesim: KubeSim) -> None:
    with httpx.Client(base_url=kubesim.url) as http:
        _create(http)

    def write(http: httpx.Client, index: int, n: int) -> int:
        body = {"data": {f"w{index}-{n}": "x"}}
        return http.patch(f"{CONFIG_MAPS}/shared", content=json.dumps(body),
                          headers={"Content-Type": "application/merge-patch+json"}).status_code

    codes = _write_all(kubesim, write)
    assert set(codes) == {200}
    with httpx.Client(base_url=kubesim.url) as http:
        data = http.get(f"{CONFIG_MAPS}/shared").json()["data"]
    assert len(data) == WRITERS * WRITES_EACH  # every write landed, none lost to a race


def test_server_side_applies_of_distinct_managers_never_conflict(kubesim: KubeSim) -> None:
    with httpx.Client(base_url=kubesim.url) as http:
        _create(http)

    def write(http: httpx.Client, index: int, n: int) -> int:
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"},
                "data": {f"w{index}": str(n)}}
        return http.patch(f"{CONFIG_MAPS}/shared", params={"fieldManager": f"writer-{index}"},
                          content=json.dumps(body), headers={"Content-Type": "application/apply-patch+yaml"}
                          ).status_code

    assert set(_write_all(kubesim, write)) == {200}
    with httpx.Client(base_url=kubesim.url) as http:
        data = http.get(f"{CONFIG_MAPS}/shared").json()["data"]
    assert data == {f"w{index}": str(WRITES_EACH - 1) for index in range(WRITERS)}


def test_a_patch_naming_a_stale_resource_version_is_a_conflict(kubesim: KubeSim) -> None:
    with httpx.Client(base_url=kubesim.url) as http:
        _create(http)
        stale = http.get(f"{CONFIG_MAPS}/shared").json()["metadata"]["resourceVersion"]
        http.patch(f"{CONFIG_MAPS}/shared", content='{"data": {"a": "1"}}',
                   headers={"Content-Type": "application/merge-patch+json"}).raise_for_status()
        refused = http.patch(f"{CONFIG_MAPS}/shared",
                             content=json.dumps({"metadata": {"resourceVersion": stale}, "data": {"b": "2"}}),
                             headers={"Content-Type": "application/merge-patch+json"})
    assert refused.status_code == 409
    assert "the object has been modified" in refused.json()["message"]
