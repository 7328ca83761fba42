"""`kubectl logs` (the real binary) against kubesim's `pods/log` subresource: the behaviour of
https://kubernetes.io/docs/reference/kubectl/generated/kubectl_logs/ and the kubelet's answers
(`-p` of a container that never restarted, a container still waiting, a pod with several
containers and no `-c`), and the simulated containers' lines (kubesim/README.md, "Container
logs"): a crash-looping container says why it exits and its restart count."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubesim import KubeSim
from kubesim.kubeconfig import write_kubeconfig
from kubesim.tests.test_kubectl import KUBECTL, Kubectl

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="no kubectl: set KUBECTL or put kubectl on PATH")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[KubeSim, Kubectl]]:
    with KubeSim(controllers=True, ready_delay=0.2) as sim:
        cache = tmp_path / "cache"
        cache.mkdir()
        yield sim, Kubectl(write_kubeconfig(tmp_path / "kubeconfig", sim.url), cache)


def _create_pod(sim: KubeSim, name: str, containers: list[dict[str, Any]]) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": containers}}
    request = urllib.request.Request(f"{sim.url}/api/v1/namespaces/default/pods", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 201


def _pod(sim: KubeSim, name: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{sim.url}/api/v1/namespaces/default/pods/{name}") as answer:
        return json.loads(answer.read())


def _wait(what: str, predicate: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _restarts(sim: KubeSim, pod: str, container: str) -> int:
    for status in (_pod(sim, pod).get("status") or {}).get("containerStatuses") or []:
        if status["name"] == container:
            return int(status.get("restartCount") or 0)
    return 0


def _running(sim: KubeSim, pod: str) -> bool:
    return (_pod(sim, pod).get("status") or {}).get("phase") == "Running"


def test_logs_of_a_running_container_say_it_started_and_is_ready(cluster: tuple[KubeSim, Kubectl]) -> None:
    sim, kubectl = cluster
    _create_pod(sim, "web", [{"name": "web", "image": "nginx:1.25"}])
    _wait("the pod to run", lambda: _running(sim, "web"))
    out = kubectl.run("logs", "web").stdout
    assert out.splitlines() == ["Starting web (image nginx:1.25)", "web is ready"]


def test_a_crash_looping_container_says_why_it_exits_and_its_restart_count(cluster: tuple[KubeSim, Kubectl]) -> None:
    sim, kubectl = cluster
    _create_pod(sim, "api", [{"name": "api", "image": "example.com/crashloop-api:1"}])
    _wait("a restart", lambda: _restarts(sim, "api", "api") >= 1)
    previous = kubectl.run("logs", "api", "-p").stdout
    assert "Error: api exited with code 1" in previous
    assert "crash at start" in previous
    assert int(previous.rsplit("restart count ", 1)[1].split()[0]) >= 1
    # Waiting in CrashLoopBackOff, the current log is the last terminated instance's (the kubelet's rule).
    assert "Error: api exited with code 1" in kubectl.run("logs", "api").stdout


def test_previous_of_a_container_that_never_restarted_is_refused(cluster: tuple[KubeSim, Kubectl]) -> None:
    sim, kubectl = cluster
    _create_pod(sim, "web", [{"name": "web", "image": "nginx:1.25"}])
    _wait("the pod to run", lambda: _running(sim, "web"))
    result = kubectl.run("logs", "web", "-p", check=False)
    assert result.returncode != 0
    assert 'previous terminated container "web" in pod "web" not found' in result.stderr


def test_a_pod_with_several_containers_needs_a_container_named(cluster: tuple[KubeSim, Kubectl]) -> None:
    sim, kubectl = cluster
    _create_pod(sim, "two", [{"name": "app", "image": "nginx:1.25"}, {"name": "sidecar", "image": "busybox:1"}])
    _wait("the pod to run", lambda: _running(sim, "two"))
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{sim.url}/api/v1/namespaces/default/pods/two/log")
    assert refused.value.code == 400
    status = json.loads(refused.value.read())
    assert status["message"] == "a container name must be specified for pod two, choose one of: [app sidecar]"
    assert kubectl.run("logs", "two", "-c", "sidecar").stdout.startswith("Starting sidecar (image busybox:1)")
    bad = kubectl.run("logs", "two", "-c", "nope", check=False)
    assert bad.returncode != 0 and "container nope is not valid for pod two" in bad.stderr


def test_a_container_whose_image_cannot_be_pulled_has_no_logs_yet(cluster: tuple[KubeSim, Kubectl]) -> None:
    sim, kubectl = cluster
    _create_pod(sim, "stuck", [{"name": "stuck", "image": "nginx:missing"}])
    _wait("the pull to fail", lambda: "waiting" in str(_pod(sim, "stuck").get("status", {}).get("containerStatuses")))
    result = kubectl.run("logs", "stuck", check=False)
    assert result.returncode != 0
    assert 'container "stuck" in pod "stuck" is waiting to start' in result.stderr


def test_follow_streams_lines_as_the_container_writes_them(cluster: tuple[KubeSim, Kubectl]) -> None:
    sim, kubectl = cluster
    env = [{"name": "KUBESIM_LOG_EVERY_SECONDS", "value": "0.2"}]
    _create_pod(sim, "ticker", [{"name": "ticker", "image": "nginx:1.25", "env": env}])
    _wait("the pod to run", lambda: _running(sim, "ticker"))
    assert KUBECTL is not None
    follow = subprocess.Popen([KUBECTL, f"--cache-dir={kubectl.cache}", "logs", "-f", "ticker", "--tail=1"],
                              env=kubectl.env, stdout=subprocess.PIPE, text=True)
    try:
        assert follow.stdout is not None
        first = follow.stdout.readline().strip()
        later = [follow.stdout.readline().strip() for _ in range(3)]
    finally:
        follow.kill()
        follow.wait()
    assert first.startswith("tick ")
    numbers = [int(line.split()[1]) for line in [first, *later]]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4  # new lines, in order, as they were written


def test_tail_and_timestamps_as_kubectl_asks_for_them(cluster: tuple[KubeSim, Kubectl]) -> None:
    sim, kubectl = cluster
    _create_pod(sim, "web", [{"name": "web", "image": "nginx:1.25"}])
    _wait("the pod to run", lambda: _running(sim, "web"))
    assert kubectl.run("logs", "web", "--tail=1").stdout == "web is ready\n"
    stamped = kubectl.run("logs", "web", "--timestamps").stdout.splitlines()
    assert stamped[0].split(" ", 1)[1] == "Starting web (image nginx:1.25)"
    assert stamped[0].split(" ", 1)[0].endswith("Z")
