"""Shared pieces of the sync-engine integration tests: kubesim with controllers, an app from a
repository of YAML files, waiting for an operation to end, and object timelines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.control.catalog import register
from reconciler.model import parse_manifests
from tests.conftest import GitRepo
from tests.integration.conftest import System


def app_manifest(name: str, repo: GitRepo, path: str = "app", *, namespace: str = "shop", auto: bool = False,
                 sync_options: list[str] | None = None, project: str = "default") -> str:
    policy: dict[str, Any] = {}
    if auto:
        policy["automated"] = {"prune": True}
    if sync_options:
        policy["syncOptions"] = sync_options
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": project,
            "source": {"repoURL": f"file://{repo.path}", "path": path, "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": policy,
        },
    }
    return json.dumps(doc)


def register_app(system: System, text: str) -> None:
    register(system.store, parse_manifests(text), first_poll_in=0)


def sync_now(system: System, name: str, prune: bool = False) -> None:
    from reconciler.control.user_actions import sync
    from workers.tasks import request_sync

    request_sync(system.store, sync(system.store, name, prune=prune))


def wait_operation_end(system: System, name: str, timeout: float = 40.0, after: str = "") -> dict[str, Any]:
    """The app's operation once it is no longer Running (and is not the one with id `after`)."""

    def ended() -> dict[str, Any] | None:
        op = system.operation(name)
        if op.get("phase") in ("Succeeded", "Failed", "Error") and op.get("id") != after and not op.get("nextRetryAt"):
            return op
        return None

    return system.wait_for(ended, timeout=timeout, what=f"{name}'s operation to end")


def job(name: str, *, hook: str = "", image: str = "busybox:1.36", namespace: str = "shop",
        generate: bool = False, annotations: dict[str, str] | None = None) -> str:
    notes = dict(annotations or {})
    if hook:
        notes["argocd.argoproj.io/hook"] = hook
    meta: dict[str, Any] = {"generateName" if generate else "name": f"{name}-" if generate else name,
                            "namespace": namespace}
    if notes:
        meta["annotations"] = notes
    doc = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": 0,
            "template": {"spec": {"restartPolicy": "Never",
                                  "containers": [{"name": "main", "image": image, "command": ["true"]}]}},
        },
    }
    return json.dumps(doc)


def deployment(name: str, namespace: str = "shop", annotations: dict[str, str] | None = None) -> str:
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {name}
          namespace: {namespace}
          annotations: {json.dumps(annotations or {})}
        spec:
          replicas: 1
          selector: {{matchLabels: {{app: {name}}}}}
          template:
            metadata: {{labels: {{app: {name}}}}}
            spec:
              containers: [{{name: main, image: "nginx:1.27"}}]
        """)


def config_map(name: str, namespace: str = "shop", annotations: dict[str, str] | None = None) -> str:
    meta = {"name": name, "namespace": namespace, "annotations": annotations or {}}
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}})


NAMESPACE = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})


def created_at(system: System, api_version: str, kind: str, namespace: str | None, name: str) -> float:
    """When kubesim created the object, from its resourceVersion (a global counter, so it orders
    creations across kinds)."""
    live = system.cluster.get(api_version, kind, namespace, name)
    assert live is not None, f"{kind} {name} was not created"
    return float(live["metadata"]["resourceVersion"])


def jobs(system: System, namespace: str = "shop") -> list[dict[str, Any]]:
    return system.cluster.list("batch/v1", "Job", namespace=namespace)


class Timeline:
    """Watches the cluster from a thread and notes when each named condition first held, so a
    test can tell what happened before what."""

    def __init__(self, system: System, checks: dict[str, Any]) -> None:
        import threading
        import time

        self._time = time
        self.first: dict[str, float] = {}
        self._checks = checks
        self._system = system
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        # One more pass after the stop: what the last step of a sync did a millisecond before the
        # operation ended (steps due at once run back to back in one task) is still noted.
        while True:
            stopping = self._stop.is_set()
            for name, check in self._checks.items():
                if name not in self.first:
                    try:
                        held = check(self._system.cluster)
                    except Exception:  # a kind not served yet
                        held = False
                    if held:
                        self.first[name] = self._time.monotonic()
            if stopping:
                return
            self._stop.wait(0.02)

    def __enter__(self) -> Timeline:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def job_done(name: str, namespace: str = "shop", condition: str = "Complete") -> Any:
    def check(cluster: Any) -> bool:
        for item in cluster.list("batch/v1", "Job", namespace=namespace):
            meta = item["metadata"]
            if meta["name"] == name or meta.get("generateName") == f"{name}-":
                conditions = (item.get("status") or {}).get("conditions") or []
                if any(c.get("type") == condition and c.get("status") == "True" for c in conditions):
                    return True
        return False

    return check


def exists(api_version: str, kind: str, namespace: str | None, name: str) -> Any:
    return lambda cluster: cluster.get(api_version, kind, namespace, name) is not None


def healthy_deployment(name: str, namespace: str = "shop") -> Any:
    def check(cluster: Any) -> bool:
        live = cluster.get("apps/v1", "Deployment", namespace, name)
        return bool(live) and (live.get("status") or {}).get("availableReplicas", 0) >= 1

    return check


def job_exists(name: str, namespace: str = "shop") -> Any:
    def check(cluster: Any) -> bool:
        return any(
            item["metadata"]["name"] == name or item["metadata"].get("generateName") == f"{name}-"
            for item in cluster.list("batch/v1", "Job", namespace=namespace)
        )

    return check


def app_get_text(system: System, name: str) -> str:
    env = dict(os.environ)  # REDIS_URL: the session's Redis (set by the celery_app fixture)
    env.pop("RECONCILER_SERVER", None)
    result = subprocess.run([sys.executable, "-m", "reconciler.cli", "app", "get", name], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def delete_app(system: System, name: str, hook_timeout: float | None = None, wait: float = 60.0) -> Any:
    """`app delete NAME --cascade` as the API and the CLI run it: asked for, handed to the
    workers, and awaited. Returns what the delete did (a Teardown); fails the test when the
    delete was deferred or no worker answered."""
    from reconciler.control.teardown import DELETE_HOOKS_TIMEOUT, delete_and_wait
    from workers.tasks import enqueue_delete

    timeout = DELETE_HOOKS_TIMEOUT if hook_timeout is None else hook_timeout
    reply = delete_and_wait(system.store, name, enqueue_delete, wait, hook_timeout=timeout)
    assert reply is not None, f"no worker answered the delete of {name}"
    assert reply.found and not reply.deferred, reply
    assert reply.teardown is not None
    return reply.teardown


def cli_delete(system: System, name: str) -> subprocess.CompletedProcess[str]:
    """`reconciler app delete NAME --cascade` as a person runs it (Redis and kubeconfig from the env)."""
    env = dict(os.environ)
    env.pop("RECONCILER_SERVER", None)
    return subprocess.run([sys.executable, "-m", "reconciler.cli", "app", "delete", name, "--cascade"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(name="kubesim")
def kubesim_with_controllers() -> Iterator[object]:
    """kubesim with its controllers: Deployments roll out and Jobs complete in ~0.3 s (import it
    into a test module to use it there in place of the plain kubesim)."""
    from kubesim import KubeSim

    with KubeSim(controllers=True, ready_delay=0.3) as sim:
        yield sim


def app_files(**docs: str) -> dict[str, str]:
    """Files of the app's directory `app/` in a test repository, one YAML or JSON document each."""
    return {f"app/{name}.yaml": text for name, text in docs.items()}
