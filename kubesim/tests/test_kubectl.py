"""The real kubectl against kubesim: apply (client- and server-side, -k), explain, get, scale, diff, refusals.

Each test runs the `kubectl` binary (the KUBECTL environment variable, else `kubectl` on PATH;
skipped with the reason when there is none) with a kubeconfig for a fresh kubesim. What kubectl
needs from the server follows https://kubernetes.io/docs/reference/using-api/ (OpenAPI v2/v3 for
validation, patches and explain; field validation; server-side apply; tables for `get`; the
scale subresource), and the refusals follow
https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation and
https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kubesim.kubeconfig import write_kubeconfig

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25", ports: [{containerPort: 80}]}]
"""
WIDGET_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What the widget should be.
            properties:
              replicas: {type: integer, minimum: 1, default: 3, description: How many widgets to run.}
          status:
            type: object
            properties:
              replicas: {type: integer}
"""


def find_kubectl() -> str | None:
    return os.environ.get("KUBECTL") or shutil.which("kubectl")


KUBECTL = find_kubectl()
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="no kubectl: set KUBECTL or put kubectl on PATH "
                                                        "(Debian: apt-get install kubernetes-client)")


class Kubectl:
    def __init__(self, kubeconfig: Path, cache: Path) -> None:
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(cache)}
        self.cache = cache

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        result = subprocess.run([KUBECTL, f"--cache-dir={self.cache}", *args], input=stdin, env=self.env,
                                capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json").stdout)


@pytest.fixture
def kubectl(kubesim: Any, tmp_path: Path) -> Kubectl:
    cache = tmp_path / "kube-cache"
    cache.mkdir()
    return Kubectl(write_kubeconfig(tmp_path / "kubeconfig", kubesim.url), cache)


def test_client_side_apply_creates_then_reports_unchanged(kubectl: Kubectl) -> None:
    assert "deployment.apps/web created" in kubectl.run("apply", "-f", "-", stdin=DEPLOYMENT).stdout
    assert "deployment.apps/web unchanged" in kubectl.run("apply", "-f", "-", stdin=DEPLOYMENT).stdout
    live = kubectl.json("get", "deployment", "web")
    assert "kubectl.kubernetes.io/last-applied-configuration" in live["metadata"]["annotations"]


def test_client_side_apply_patches_a_changed_field(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", "-", stdin=DEPLOYMENT)
    changed = DEPLOYMENT.replace('"nginx:1.25"', '"nginx:1.27"')
    assert "deployment.apps/web configured" in kubectl.run("apply", "-f", "-", stdin=changed).stdout
    live = kubectl.json("get", "deployment", "web")
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.27"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


def test_server_side_apply(kubectl: Kubectl) -> None:
    out = kubectl.run("apply", "--server-side", "-f", "-", stdin=DEPLOYMENT).stdout
    assert "deployment.apps/web serverside-applied" in out
    managers = {e["manager"] for e in kubectl.json("get", "deployment", "web", "--show-managed-fields")
                ["metadata"]["managedFields"]}
    assert "kubectl" in managers


CONFIG_MAP = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default}
data: {A: "1", B: "2"}
"""


def test_server_side_apply_after_client_side_apply_migrates_and_drops_a_removed_field(kubectl: Kubectl) -> None:
    # kubectl (apply.go) applies, moves kubectl-client-side-apply's fields to its own Apply entry with
    # a JSON patch on metadata.managedFields (client-go csaupgrade, with a resourceVersion guard),
    # then applies again: the server then removes the field no manager owns any more.
    kubectl.run("apply", "-f", "-", stdin=CONFIG_MAP)
    kubectl.run("apply", "--server-side", "-f", "-", stdin=CONFIG_MAP.replace(', B: "2"', ""))
    live = kubectl.json("get", "configmap", "settings", "--show-managed-fields")
    assert live["data"] == {"A": "1"}
    managers = {(e["manager"], e["operation"]) for e in live["metadata"]["managedFields"]}
    assert ("kubectl-client-side-apply", "Update") not in managers and ("kubectl", "Apply") in managers


def test_a_managed_fields_patch_at_a_stale_resource_version_is_a_conflict(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", "-", stdin=CONFIG_MAP)
    live = kubectl.json("get", "configmap", "settings", "--show-managed-fields")
    stale = str(int(live["metadata"]["resourceVersion"]) - 1)
    patch = json.dumps([{"op": "replace", "path": "/metadata/managedFields", "value": []},
                        {"op": "replace", "path": "/metadata/resourceVersion", "value": stale}])
    result = kubectl.run("patch", "configmap", "settings", "--type=json", "-p", patch, check=False)
    assert result.returncode != 0
    assert "the object has been modified" in result.stderr


def test_apply_kustomization_directory(kubectl: Kubectl, tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "deployment.yaml").write_text(DEPLOYMENT)
    (app / "kustomization.yaml").write_text(
        "resources: [deployment.yaml]\ncommonLabels: {team: blue}\n"
        "configMapGenerator:\n- name: settings\n  literals: [mode=fast]\n")
    out = kubectl.run("apply", "-k", str(app)).stdout
    assert "deployment.apps/web created" in out
    assert "configmap/settings-" in out
    assert kubectl.json("get", "deployment", "web")["metadata"]["labels"] == {"team": "blue"}


def test_explain_shows_descriptions_of_built_in_fields(kubectl: Kubectl) -> None:
    out = kubectl.run("explain", "deployment.spec.replicas").stdout
    assert "Number of desired pods" in out
    assert "<integer>" in out


def test_explain_shows_a_crds_schema(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", "-", stdin=WIDGET_CRD)
    out = kubectl.run("explain", "widget.spec.replicas").stdout
    assert "How many widgets to run." in out


def test_get_prints_the_server_side_columns(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", "-", stdin=DEPLOYMENT)
    header = kubectl.run("get", "deployments").stdout.splitlines()[0].split()
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    wide = kubectl.run("get", "deployments", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[-3:] == ["web", "nginx:1.25", "app=web"]


def test_get_custom_resources_prints_their_printer_columns(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", "-", stdin=WIDGET_CRD)
    kubectl.run("apply", "-f", "-", stdin="apiVersion: example.com/v1\nkind: Widget\n"
                                           "metadata: {name: w, namespace: default}\nspec: {}\n")
    lines = kubectl.run("get", "widgets").stdout.splitlines()
    assert lines[0].split() == ["NAME", "REPLICAS", "AGE"]
    assert lines[1].split()[:2] == ["w", "3"]  # the schema's default


def test_scale_a_deployment_and_a_custom_resource(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", "-", stdin=DEPLOYMENT)
    assert "deployment.apps/web scaled" in kubectl.run("scale", "deployment/web", "--replicas=4").stdout
    assert kubectl.json("get", "deployment", "web")["spec"]["replicas"] == 4
    kubectl.run("apply", "-f", "-", stdin=WIDGET_CRD)
    kubectl.run("apply", "-f", "-", stdin="apiVersion: example.com/v1\nkind: Widget\n"
                                           "metadata: {name: w, namespace: default}\nspec: {}\n")
    kubectl.run("scale", "widget/w", "--replicas=6")
    assert kubectl.json("get", "widget", "w")["spec"]["replicas"] == 6


def test_diff_reports_a_change_and_nothing_when_in_sync(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", "-", stdin=DEPLOYMENT)
    same = kubectl.run("diff", "-f", "-", stdin=DEPLOYMENT, check=False)
    assert same.returncode == 0, same.stderr
    changed = kubectl.run("diff", "-f", "-", stdin=DEPLOYMENT.replace("replicas: 2", "replicas: 5"), check=False)
    assert changed.returncode == 1, changed.stderr
    assert "+  replicas: 5" in changed.stdout


def test_an_unknown_field_is_refused_as_a_real_server_refuses_it(kubectl: Kubectl) -> None:
    typo = DEPLOYMENT.replace("replicas: 2", "replicaz: 2")
    result = kubectl.run("apply", "-f", "-", stdin=typo, check=False)
    assert result.returncode != 0
    assert ('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
            'unknown field "spec.replicaz"') in result.stderr
    assert kubectl.run("get", "deployment", "web", check=False).returncode != 0


def test_server_side_apply_of_an_unknown_field_is_refused(kubectl: Kubectl) -> None:
    typo = DEPLOYMENT.replace("replicas: 2", "replicaz: 2")
    result = kubectl.run("apply", "--server-side", "-f", "-", stdin=typo, check=False)
    assert result.returncode != 0
    assert ".spec.replicaz: field not declared in schema" in result.stderr


def test_validate_warn_applies_without_the_field_and_prints_the_warning(kubectl: Kubectl) -> None:
    typo = DEPLOYMENT.replace("replicas: 2", "replicas: 2\n  replicaz: 2")
    result = kubectl.run("apply", "--validate=warn", "-f", "-", stdin=typo)
    assert 'Warning: unknown field "spec.replicaz"' in result.stderr
    assert "replicaz" not in kubectl.json("get", "deployment", "web")["spec"]


def test_a_custom_resource_breaking_its_schema_is_refused(kubectl: Kubectl) -> None:
    kubectl.run("apply", "-f", "-", stdin=WIDGET_CRD)
    result = kubectl.run("apply", "-f", "-", check=False, stdin="apiVersion: example.com/v1\nkind: Widget\n"
                                                                 "metadata: {name: w, namespace: default}\n"
                                                                 "spec: {replicas: 0}\n")
    assert result.returncode != 0
    assert ('spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1'
            in result.stderr)
