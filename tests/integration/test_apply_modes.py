"""Client-side apply, client-side-apply migration and field validation against kubesim, with the
real kubectl reading (and writing) the same objects.

What each test expects is what kubectl and kube-apiserver do: client-side apply records
`kubectl.kubernetes.io/last-applied-configuration` and sends a three-way patch (fields dropped
since the last apply are deleted, other managers' fields stay); `kubectl apply` after it sees
nothing to change. Server-side apply with migration takes over `kubectl-client-side-apply`'s
fields (client-go csaupgrade), so a field dropped from the desired object goes.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kubesim.kubeconfig import write_kubeconfig
from reconciler.engine.apply_mode import ApplyMode, apply_object
from reconciler.engine.cluster import Cluster, KubeError
from reconciler.engine.cluster.three_way import LAST_APPLIED_ANNOTATION

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="no kubectl on PATH")

CSA = ApplyMode(server_side=False)


class Kubectl:
    def __init__(self, kubeconfig: Path, home: Path) -> None:
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        result = subprocess.run([KUBECTL, *args], input=stdin, env=self.env, capture_output=True, text=True,
                                timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result


@pytest.fixture
def kubectl(kubesim: Any, tmp_path: Path) -> Kubectl:
    home = tmp_path / "home"
    home.mkdir()
    return Kubectl(write_kubeconfig(tmp_path / "kubeconfig", kubesim.url), home)


@pytest.fixture
def cluster(kubesim: Any, tmp_path: Path) -> Cluster:
    cluster = Cluster.for_host(kubesim.url, discovery_cache_file=str(tmp_path / "discovery.json"))
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    return cluster


def deployment(**labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", **labels}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.27",
                                         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]},
            },
        },
    }


def config_map(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "shop"}, "data": data}


def live(cluster: Cluster, obj: dict[str, Any]) -> dict[str, Any]:
    found = cluster.get(obj["apiVersion"], obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])
    assert found is not None
    return found


# ------------------------------------------------------------------------------ client-side apply


def test_client_side_apply_creates_with_the_annotation_kubectl_reads(cluster: Cluster, kubectl: Kubectl) -> None:
    obj = deployment(tier="front")
    apply_object(cluster, obj, CSA)
    stored = live(cluster, obj)
    assert LAST_APPLIED_ANNOTATION in stored["metadata"]["annotations"]
    assert [(e["manager"], e["operation"]) for e in stored["metadata"]["managedFields"]] == [
        (cluster.field_manager, "Update")]
    shown = json.loads(kubectl.run("apply", "view-last-applied", "deployment/web", "-n", "shop", "-o", "json").stdout)
    assert shown["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert shown["spec"] == obj["spec"]
    # kubectl's own apply of the same file finds nothing to do, and its diff is empty.
    assert "unchanged" in kubectl.run("apply", "-f", "-", stdin=json.dumps(obj)).stdout
    assert kubectl.run("diff", "-f", "-", stdin=json.dumps(obj), check=False).returncode == 0


def test_kubectl_finds_our_annotation_identical_to_its_own(cluster: Cluster, kubectl: Kubectl) -> None:
    # Go's encoder escapes <, > and &: an annotation written differently would make kubectl patch it.
    obj = config_map(url="https://example.com/?a=1&b=<2>", text="ünïcode")
    apply_object(cluster, obj, CSA)
    assert "unchanged" in kubectl.run("apply", "-f", "-", stdin=json.dumps(obj)).stdout


def test_client_side_apply_deletes_what_was_dropped_and_keeps_other_managers_fields(
    cluster: Cluster, kubectl: Kubectl
) -> None:
    obj = deployment(tier="front")
    apply_object(cluster, obj, CSA)
    # Another manager scales it and annotates it; neither field is in our configuration.
    kubectl.run("scale", "deployment/web", "-n", "shop", "--replicas=4")
    kubectl.run("annotate", "deployment/web", "-n", "shop", "team=payments")
    changed = copy.deepcopy(obj)
    del changed["metadata"]["labels"]["tier"]
    changed["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    apply_object(cluster, changed, CSA)
    stored = live(cluster, obj)
    assert stored["metadata"]["labels"] == {"app": "web"}
    container = stored["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "A", "value": "1"}]
    assert container["image"] == "nginx:1.28"
    # Defaults the server filled in stay (a strategic merge patch, not a replacement).
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert stored["spec"]["replicas"] == 4
    assert stored["metadata"]["annotations"]["team"] == "payments"
    assert "unchanged" in kubectl.run("apply", "-f", "-", stdin=json.dumps(changed)).stdout


def test_client_side_apply_of_a_custom_resource_uses_a_merge_patch(cluster: Cluster, kubectl: Kubectl) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "properties": {"spec": {"type": "object", "properties": {
                         "size": {"type": "integer"}, "color": {"type": "string"},
                         "owner": {"type": "string"}}}}}}}]},
    }
    cluster.apply(crd)
    kubectl.run("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=30s")
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "shop"},
              "spec": {"size": 2, "color": "red"}}
    apply_object(cluster, widget, CSA)
    kubectl.run("patch", "widget/w", "-n", "shop", "--type=merge", "-p", '{"spec":{"owner":"ops"}}')
    smaller = copy.deepcopy(widget)
    del smaller["spec"]["color"]
    apply_object(cluster, smaller, CSA)
    assert live(cluster, widget)["spec"] == {"size": 2, "owner": "ops"}


def test_client_side_dry_run_changes_nothing_and_shows_the_result(cluster: Cluster) -> None:
    obj = config_map(a="1", b="2")
    apply_object(cluster, obj, CSA)
    before = live(cluster, obj)
    predicted = apply_object(cluster, config_map(a="1"), CSA, dry_run=True)
    assert predicted["data"] == {"a": "1"}
    assert live(cluster, obj)["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


# ------------------------------------------------------------------------ ClientSideApplyMigration


def kubectl_client_side_apply(kubectl: Kubectl, obj: dict[str, Any]) -> None:
    kubectl.run("apply", "-f", "-", stdin=json.dumps(obj))


def test_server_side_apply_migrates_kubectl_client_side_fields(cluster: Cluster, kubectl: Kubectl) -> None:
    kubectl_client_side_apply(kubectl, config_map(A="1", B="2"))
    apply_object(cluster, config_map(A="1"), ApplyMode())
    stored = live(cluster, config_map())
    assert stored["data"] == {"A": "1"}
    managers = {(e["manager"], e["operation"]) for e in stored["metadata"]["managedFields"]}
    assert managers == {(cluster.field_manager, "Apply")}
    # The annotation was kubectl's field: it went with the migration, as with Argo CD.
    assert LAST_APPLIED_ANNOTATION not in (stored["metadata"].get("annotations") or {})


def test_without_migration_client_side_fields_stay(cluster: Cluster, kubectl: Kubectl) -> None:
    kubectl_client_side_apply(kubectl, config_map(A="1", B="2"))
    apply_object(cluster, config_map(A="1"), ApplyMode(migrate_client_side=False))
    stored = live(cluster, config_map())
    assert stored["data"] == {"A": "1", "B": "2"}
    managers = {(e["manager"], e["operation"]) for e in stored["metadata"]["managedFields"]}
    assert ("kubectl-client-side-apply", "Update") in managers


def test_switching_from_client_side_to_server_side_apply_removes_dropped_fields(cluster: Cluster) -> None:
    apply_object(cluster, config_map(A="1", B="2"), CSA)
    apply_object(cluster, config_map(A="1"), ApplyMode())
    assert live(cluster, config_map())["data"] == {"A": "1"}


# -------------------------------------------------------------------------------- field validation


def with_unknown_field(obj: dict[str, Any]) -> dict[str, Any]:
    bad = copy.deepcopy(obj)
    bad["spec"]["replicaz"] = 3
    return bad


@pytest.mark.parametrize("mode", [CSA, ApplyMode()], ids=["client-side", "server-side"])
def test_an_unknown_field_fails_the_apply_naming_it(cluster: Cluster, mode: ApplyMode) -> None:
    with pytest.raises(KubeError) as err:
        apply_object(cluster, with_unknown_field(deployment()), mode)
    assert "Deployment" in str(err.value) and "shop/web" in str(err.value)
    assert "spec.replicaz" in str(err.value)


def test_an_unknown_field_of_an_existing_object_fails_a_client_side_patch(cluster: Cluster) -> None:
    apply_object(cluster, deployment(), CSA)
    with pytest.raises(KubeError) as err:
        apply_object(cluster, with_unknown_field(deployment()), CSA)
    assert err.value.status == 400
    assert 'strict decoding error: unknown field "spec.replicaz"' in str(err.value)


def test_validate_false_lets_the_server_drop_unknown_fields(cluster: Cluster) -> None:
    stored = apply_object(cluster, with_unknown_field(deployment()), ApplyMode(server_side=False,
                                                                               field_validation="Ignore"))
    assert "replicaz" not in stored["spec"]


def test_replace_and_create_ask_for_strict_validation(cluster: Cluster) -> None:
    with pytest.raises(KubeError) as err:
        cluster.create(with_unknown_field(deployment()))
    assert 'unknown field "spec.replicaz"' in str(err.value)
    cluster.create(deployment())
    rv = live(cluster, deployment())["metadata"]["resourceVersion"]
    with pytest.raises(KubeError) as err:
        cluster.replace(with_unknown_field(deployment()), rv)
    assert 'unknown field "spec.replicaz"' in str(err.value)
    cluster.replace(with_unknown_field(deployment()), rv, field_validation="Ignore")
