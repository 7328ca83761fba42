"""The real kubectl against kubesim: events, describe, auth can-i/whoami, wait, rollout, graceful delete.

kubectl is a client nobody here wrote, so what it accepts is what a real API server must
answer. Binary: $KUBECTL, else the newest /usr/lib/google-cloud-sdk/bin/kubectl.1.*, else
`kubectl` on PATH (Debian's kubernetes-client, which `make test` installs where it can).

Behaviour taken from:
- https://kubernetes.io/docs/reference/kubectl/generated/kubectl_auth/kubectl_auth_can-i/
  ("yes"/"no", exit status 1 when denied) and kubectl_auth_whoami;
- https://kubernetes.io/docs/reference/kubectl/generated/kubectl_wait/ (condition=Established, --for=delete);
- https://kubernetes.io/docs/reference/kubectl/generated/kubectl_rollout/kubectl_rollout_status/;
- https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubesim import KubeSim
from kubesim.kubeconfig import write_kubeconfig


def find_kubectl() -> str | None:
    if os.environ.get("KUBECTL"):
        return os.environ["KUBECTL"]

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(p) for p in re.findall(r"\d+", path.rsplit("kubectl.", 1)[-1]))

    bundled = sorted(glob.glob("/usr/lib/google-cloud-sdk/bin/kubectl.1.*"), key=version)
    if bundled:
        return bundled[-1]
    return shutil.which("kubectl")


KUBECTL = find_kubectl()
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="no kubectl: set KUBECTL, or install Debian's "
                                                        "kubernetes-client (make test does, as root)")

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: "nginx:1.27"}]
"""

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""

# `kubectl create role/rolebinding` post protobuf, which kubesim does not decode for stored kinds; manifests
# go as JSON.
READER = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cm-reader, namespace: default}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: cm-reader, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
"""

POD = """
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: default}
spec:
  terminationGracePeriodSeconds: 30
  containers: [{name: app, image: "nginx:1.27"}]
"""


# Client-side validation needs /openapi/v3, which kubesim serves on another branch; what these tests
# check is the server's behaviour after the object is sent, so they send it without.
CREATE = ("create", "--validate=false", "-f", "-")


class Kubectl:
    def __init__(self, kubeconfig: Path, home: Path) -> None:
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}

    def run(self, *args: str, stdin: str | None = None, check: bool = True,
            token: str | None = None) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        cmd = [KUBECTL, *(["--token", token] if token else []), *args]
        done = subprocess.run(cmd, input=stdin, env=self.env, capture_output=True, text=True, timeout=60)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1: kubectl sends bearer tokens only over TLS."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make the TLS certificate kubectl needs before it sends a token")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=kubesim", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def kubectl(tmp_path: Path) -> Iterator[Kubectl]:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,1,"system:masters"\nalice-token,alice,2,"dev"\n')
    cert, key = self_signed_certificate(tmp_path)
    with KubeSim(controllers=True, ready_delay=0.2, crd_establish_delay=0.5, termination_grace_scale=0.05,
                 token_auth_file=str(tokens), tls_cert_file=str(cert), tls_private_key_file=str(key)) as sim:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", sim.url)
        client = Kubectl(kubeconfig, tmp_path)
        client.run("config", "set-cluster", "kubesim", f"--certificate-authority={cert}")
        client.run("config", "set-credentials", "kubesim", "--token", "admin-token")
        yield client


def test_rollout_status_waits_for_the_deployment(kubectl: Kubectl) -> None:
    kubectl.run(*CREATE, stdin=DEPLOYMENT)

    done = kubectl.run("rollout", "status", "deployment/web", "--timeout=30s")

    assert 'deployment "web" successfully rolled out' in done.stdout


def test_get_events_and_describe_show_what_the_controllers_did(kubectl: Kubectl) -> None:
    kubectl.run(*CREATE, stdin=DEPLOYMENT)
    kubectl.run("rollout", "status", "deployment/web", "--timeout=30s")

    # custom columns: server-side Table printing of Events is another branch's work
    events = kubectl.run("get", "events", "-n", "default", "-o", "custom-columns=KIND:.involvedObject.kind,"
                         "REASON:.reason,MESSAGE:.message").stdout
    described = kubectl.run("describe", "deployment", "web").stdout

    assert "ScalingReplicaSet" in events and "SuccessfulCreate" in events and "Started" in events
    assert re.search(r"Normal\s+ScalingReplicaSet\s+.*Scaled up replica set web-\w+ from 0 to 2", described)


def test_auth_can_i_answers_yes_and_no_for_a_token_user(kubectl: Kubectl) -> None:
    kubectl.run(*CREATE, stdin=READER)

    allowed = kubectl.run("auth", "can-i", "list", "configmaps", "-n", "default", token="alice-token", check=False)
    denied = kubectl.run("auth", "can-i", "delete", "configmaps", "-n", "default", token="alice-token", check=False)
    forbidden = kubectl.run("get", "secrets", "-n", "default", token="alice-token", check=False)

    assert (allowed.returncode, allowed.stdout.strip()) == (0, "yes")
    assert (denied.returncode, denied.stdout.strip()) == (1, "no")
    assert 'secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace ' \
           '"default"' in forbidden.stderr


def test_auth_whoami_names_the_token_user(kubectl: Kubectl) -> None:
    done = kubectl.run("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}", token="alice-token")

    assert done.stdout == "alice"


def test_wait_for_a_crd_to_be_established(kubectl: Kubectl) -> None:
    kubectl.run(*CREATE, stdin=CRD)

    kubectl.run("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=30s")
    listed = kubectl.run("get", "widgets", "-n", "default")

    assert listed.returncode == 0


def test_delete_with_a_grace_period_terminates_then_removes_the_pod(kubectl: Kubectl) -> None:
    kubectl.run(*CREATE, stdin=POD)
    kubectl.run("wait", "--for=condition=Ready", "pod/p", "--timeout=30s")

    kubectl.run("delete", "pod", "p", "--grace-period=60", "--wait=false")
    grace = kubectl.run("get", "pod", "p", "-o", "jsonpath={.metadata.deletionGracePeriodSeconds}", check=False)
    kubectl.run("wait", "--for=delete", "pod/p", "--timeout=30s")

    assert grace.stdout == "60"


def test_auth_can_i_list_and_impersonation_show_the_users_rules(kubectl: Kubectl) -> None:
    kubectl.run(*CREATE, stdin=READER)

    listed = kubectl.run("auth", "can-i", "--list", "-n", "default", token="alice-token").stdout
    as_alice = kubectl.run("auth", "can-i", "delete", "configmaps", "-n", "default", "--as", "alice", check=False)

    assert re.search(r"^configmaps\s+\[\]\s+\[\]\s+\[get list\]", listed, re.MULTILINE)
    assert (as_alice.returncode, as_alice.stdout.strip()) == (1, "no")
