"""Push-to-applied latency: commit to a local repo, POST the signed GitHub webhook, and time
until kubesim holds the new object. Real API, workers and beat as subprocesses.

The app is a Helm chart with a vendored subchart (two charts rendered per sync). Prints one
JSON object: p50/p95/max over `--pushes` pushes (default 50), and the p50/p95 of each stage,
timed from kubesim's request log (when the API server received each request, wall clock):
- `webhook`: the POST until its 202 (signature, matching the app, queueing its poll);
- `to_poll_dry_run`: the 202 until the poll's dry-run of the changed Deployment (the task's
  queue wait, the ref listing, the render of the cached chart, the live state);
- `poll_to_sync`: that dry-run until the sync claims its fence (the poll's status and decision,
  the sync task's queue wait, the sync's own compare and plan);
- `sync_to_apply`: the fence until the Deployment's apply;
- `apply_to_seen`: the apply until this benchmark's GET saw the new image.

    .venv/bin/python bench/push_latency.py [--pushes 50] [--workers 1] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import BenchSystem, log, sigterm_as_interrupt
from reconciler.control import user_actions as actions
from reconciler.model import parse_manifests
from reconciler.state.redis_server import free_port

SECRET = "bench-webhook-secret"

CHART = {
    "apps/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "apps/web/values.yaml": "image: {tag: v0}\nreplicas: 2\ncache: {size: 64}\n",
    "apps/web/templates/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"
        "spec:\n  replicas: {{ .Values.replicas }}\n"
        "  selector:\n    matchLabels: {app: web}\n"
        "  template:\n    metadata:\n      labels: {app: web}\n"
        "    spec:\n      containers:\n      - name: web\n        image: \"nginx:{{ .Values.image.tag }}\"\n"
    ),
    "apps/web/templates/service.yaml": (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\n"
        "spec:\n  selector: {app: web}\n  ports:\n  - port: 80\n"
    ),
    "apps/web/charts/cache/Chart.yaml": "apiVersion: v2\nname: cache\nversion: 0.1.0\n",
    "apps/web/charts/cache/values.yaml": "size: 32\n",
    "apps/web/charts/cache/templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cache\n"
        "data:\n  size: \"{{ .Values.size }}\"\n"
    ),
}


def application(repo_url: str) -> str:
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  namespace: argocd\n"
        f"spec:\n  project: default\n  source:\n    repoURL: {repo_url}\n    targetRevision: HEAD\n"
        "    path: apps/web\n    helm:\n      valueFiles: [values.yaml]\n"
        "  destination:\n    server: https://kubernetes.default.svc\n    namespace: web\n"
        "  syncPolicy:\n    automated: {prune: true, selfHeal: true}\n    syncOptions: [CreateNamespace=true]\n"
    )


def push_event(repo_url: str, before: str, after: str) -> bytes:
    return json.dumps({
        "ref": "refs/heads/main", "before": before, "after": after,
        "repository": {"clone_url": repo_url, "html_url": repo_url, "default_branch": "main",
                       "full_name": "bench/config", "name": "config"},
        "commits": [{"id": after, "added": [], "removed": [], "modified": ["apps/web/values.yaml"]}],
        "head_commit": {"id": after, "added": [], "removed": [], "modified": ["apps/web/values.yaml"]},
    }).encode()


class Http:
    """One keep-alive connection, so the client adds as little as possible to what is timed."""

    def __init__(self, host: str, port: int) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=10)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        return resp.status, resp.read()


def deployed_tag(kube: Http) -> str:
    status, body = kube.request("GET", "/apis/apps/v1/namespaces/web/deployments/web")
    if status != 200:
        return ""
    image = json.loads(body)["spec"]["template"]["spec"]["containers"][0]["image"]
    return str(image).rsplit(":", 1)[-1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(pushes: int, workers: int, concurrency: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-push-"))
    api_port = free_port()
    env = {"RECONCILER_WEBHOOK_GITHUB_SECRET": SECRET, "RECONCILER_API_AUTH": "none"}
    with sigterm_as_interrupt(), BenchSystem(workdir, workers=workers, concurrency=concurrency, env=env) as system:
        system.procs.start("api", [sys.executable, "-m", "reconciler.cli", "api", "--port", str(api_port),
                                   "--host", "127.0.0.1"], system.env)
        assert system.store is not None and system.kubesim is not None
        repo = system.make_repo("config", CHART)
        actions.create(system.store, parse_manifests(application(repo.url), source_file="bench"), owner="cli")
        kube_address = urlparse(system.kubesim.url)
        kube = Http(kube_address.hostname or "127.0.0.1", kube_address.port or 80)
        system.wait_for(lambda: deployed_tag(kube) == "v0", 120, "the first sync")
        system.wait_for(lambda: _api_up(api_port), 60, "the API")
        api = Http("127.0.0.1", api_port)
        latencies: list[float] = []
        stages: dict[str, list[float]] = {}
        before = repo.git("rev-parse", "HEAD")
        for i in range(1, pushes + 1):
            tag = f"v{i}"
            after = repo.commit({"apps/web/values.yaml": f"image: {{tag: {tag}}}\nreplicas: 2\ncache: {{size: 64}}\n"},
                                message=f"deploy {tag}")
            body = push_event(repo.url, before, after)
            signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            system.kubesim.clear_log()
            wall_started = time.time()
            started = time.perf_counter()
            status, answer = api.request("POST", "/api/webhook", body, {
                "X-GitHub-Event": "push", "X-Hub-Signature-256": signature, "Content-Type": "application/json"})
            answered = time.time()
            if status != 202:
                raise RuntimeError(f"webhook answered {status}: {answer.decode(errors='replace')}")
            deadline = started + 30
            while deployed_tag(kube) != tag:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"push {i} not applied within 30 s")
                time.sleep(0.002)
            latencies.append(time.perf_counter() - started)
            for stage, seconds in stage_times(system.kubesim.requests(), wall_started, answered,
                                              wall_started + latencies[-1]).items():
                stages.setdefault(stage, []).append(seconds)
            before = after
            log(f"push {i}: {latencies[-1] * 1000:.0f} ms")
            time.sleep(0.3)  # pushes a person apart, not a burst: each is measured on its own
        return {
            "benchmark": "push_latency",
            "pushes": pushes,
            "workers": workers,
            "concurrency": concurrency,
            "charts_per_render": 2,
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
            "max_ms": round(max(latencies) * 1000, 1),
            "mean_ms": round(statistics.mean(latencies) * 1000, 1),
            "stages_ms": {stage: {"p50": round(statistics.median(values) * 1000, 1),
                                  "p95": round(percentile(values, 0.95) * 1000, 1), "pushes": len(values)}
                          for stage, values in stages.items()},
        }


def stage_times(requests: list[dict[str, Any]], started: float, answered: float, seen: float) -> dict[str, float]:
    """Where one push's time went (see the module's docstring), from kubesim's request log."""
    deployment = "/apis/apps/v1/namespaces/web/deployments/web"

    def first(match: Any) -> float | None:
        return min((float(e["time"]) for e in requests if match(e)), default=None)

    dry_run = first(lambda e: e["path"] == deployment and e["method"] == "PATCH" and "dryRun" in e["query"])
    fence = first(lambda e: "/leases" in e["path"])
    applied = first(lambda e: e["path"] == deployment and e["method"] == "PATCH" and "dryRun" not in e["query"])
    marks = [("webhook", started, answered), ("to_poll_dry_run", answered, dry_run),
             ("poll_to_sync", dry_run, fence), ("sync_to_apply", fence, applied), ("apply_to_seen", applied, seen)]
    return {name: end - begin for name, begin, end in marks if begin is not None and end is not None}


def _api_up(port: int) -> bool:
    try:
        return Http("127.0.0.1", port).request("GET", "/healthz")[0] == 200
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(run(args.pushes, args.workers, args.concurrency)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
