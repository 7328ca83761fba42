"""Label and field selectors: the parser on its own, then through the DynamicClient.

Behaviour taken from:
- https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors
  (equality- and set-based requirements, comma = AND, `!=`/`notin` match objects without the key)
- https://kubernetes.io/docs/concepts/overview/working-with-objects/field-selectors/
  (`metadata.name`, `metadata.namespace`, `=`, `==`, `!=`; unsupported fields are an error)
- https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from kubesim.errors import BadRequest
from kubesim.storage.selectors import parse_field_selector, parse_label_selector

LABELS = {"app": "web", "tier": "front", "version": "3"}


@pytest.mark.parametrize(("selector", "expected"), [
    ("app=web", True), ("app==web", True), ("app!=web", False), ("app=db", False),
    ("tier in (front,back)", True), ("tier in (back)", False), ("tier notin (back)", True),
    ("tier notin (front)", False), ("app", True), ("!app", False), ("!missing", True), ("missing", False),
    ("missing!=x", True), ("missing notin (x)", True), ("missing in (x)", False),
    ("app=web,tier=front", True), ("app=web,tier=back", False), ("  app = web ,  !missing ", True),
    ("version>2", True), ("version<2", False), ("", True),
])
def test_label_selector_matches_like_kubernetes(selector: str, expected: bool) -> None:
    assert parse_label_selector(selector).matches(LABELS) is expected


@pytest.mark.parametrize("selector", [
    "app in web", "app in (web", "app=web,", "=web", "app web", "!", "app==a==b", "app in (a b)", "Bad Key!=x",
    "app=not a value", "version>x",
])
def test_malformed_label_selector_is_a_bad_request(selector: str) -> None:
    with pytest.raises(BadRequest) as err:
        parse_label_selector(selector)
    assert err.value.code == 400
    assert selector in err.value.message


def test_prefixed_label_keys_are_accepted() -> None:
    selector = parse_label_selector("app.kubernetes.io/instance=guestbook")
    assert selector.matches({"app.kubernetes.io/instance": "guestbook"})


@pytest.mark.parametrize(("selector", "expected"), [
    ("metadata.name=a", True), ("metadata.name==a", True), ("metadata.name!=a", False),
    ("metadata.namespace=default,metadata.name=a", True), ("metadata.namespace!=default", False),
])
def test_field_selector_matches_name_and_namespace(selector: str, expected: bool) -> None:
    obj = {"metadata": {"name": "a", "namespace": "default"}}
    assert parse_field_selector(selector).matches(obj) is expected


def test_unsupported_field_selector_is_a_bad_request() -> None:
    with pytest.raises(BadRequest) as err:
        parse_field_selector("spec.replicas=3", "Deployment")
    assert "spec.replicas" in err.value.message


def _configmaps(kube_client: Any) -> Any:
    cms = kube_client.resources.get(api_version="v1", kind="ConfigMap")
    for name, labels in (("a", {"app": "web", "tier": "front"}), ("b", {"app": "web", "tier": "back"}),
                         ("c", {"app": "db"})):
        cms.create(namespace="default", body={"metadata": {"name": name, "labels": labels}})
    return cms


def _names(result: Any) -> list[str]:
    return sorted(item.metadata.name for item in result.items)


def test_list_honours_set_based_label_selector(kube_client: Any) -> None:
    cms = _configmaps(kube_client)
    assert _names(cms.get(namespace="default", label_selector="app=web,tier notin (back)")) == ["a"]


def test_list_honours_label_absence(kube_client: Any) -> None:
    cms = _configmaps(kube_client)
    assert _names(cms.get(namespace="default", label_selector="!tier")) == ["c"]


def test_list_honours_field_selector_on_name(kube_client: Any) -> None:
    cms = _configmaps(kube_client)
    assert _names(cms.get(namespace="default", field_selector="metadata.name!=a")) == ["b", "c"]


def test_list_with_malformed_selector_is_400(kube_client: Any) -> None:
    cms = _configmaps(kube_client)
    with pytest.raises(ApiException) as err:
        cms.get(namespace="default", label_selector="app in (web")
    assert err.value.status == 400
    assert json.loads(err.value.body)["reason"] == "BadRequest"
