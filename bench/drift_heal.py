"""Drift healed: how long after a hand change to a managed object the system puts it back,
at the default poll interval (180 s), with the watcher running.

Starts the whole system (private redis-server, kubesim with controllers, `reconciler worker`,
`reconciler beat` and `reconciler watch` subprocesses), registers N automated self-healing
apps (a Deployment and two ConfigMaps each), waits until all are Synced and Healthy and the
watcher has listed the cluster, then makes `--trials` changes, one at a time, each to a
different app, cycling through three kinds of drift, and measures from the change to the
object being back as Git says:

- image: the Deployment's container image edited (a `kubectl edit`, another field manager)
- delete: a ConfigMap deleted
- scale: the Deployment's replicas changed by hand (no ignoreDifferences)

Apps are spaced so self-heal's backoff (Argo CD's: 0, 2, 6, ... s per app) never applies:
each trial is the first drift of its app. Prints one JSON object; progress goes to stderr.

    .venv/bin/python bench/drift_heal.py [--apps 20] [--trials 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._harness import BenchSystem, GitRepo, log, sigterm_as_interrupt
from bench.poll_scale import percentile, synced_and_healthy
from reconciler.control.catalog import register
from reconciler.engine.cluster import Cluster
from reconciler.model import parse_application

NAMESPACE = "drift"
IMAGE = "registry.example.com/web:1.0"
DRIFTS = ("image", "delete", "scale")


def app_files(app: str) -> dict[str, str]:
    deployment = (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}-web\n"
        f"spec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {app}-web\n"
        f"  template:\n    metadata:\n      labels:\n        app: {app}-web\n"
        f"    spec:\n      containers:\n      - name: web\n        image: {IMAGE}\n"
    )
    configmaps = "\n---\n".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {app}-config-{k}\ndata:\n  index: \"{k}\"\n"
        for k in range(2)
    )
    return {f"apps/{app}/deployment.yaml": deployment, f"apps/{app}/configmaps.yaml": configmaps}


def application(name: str, repo: GitRepo) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url, "targetRevision": "main", "path": f"apps/{name}"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": NAMESPACE},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def deployment_of(cluster: Cluster, app: str) -> dict[str, Any]:
    return cluster.get("apps/v1", "Deployment", NAMESPACE, f"{app}-web") or {}


def drift(hand: Cluster, app: str, kind: str) -> Any:
    """Make the change; return a predicate that is true once it is healed."""
    if kind == "image":
        hand.apply({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": f"{app}-web", "namespace": NAMESPACE},
                    "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "evil:latest"}]}}}})
        return lambda: deployment_of(hand, app)["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE
    if kind == "scale":
        hand.apply({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": f"{app}-web", "namespace": NAMESPACE}, "spec": {"replicas": 3}})
        return lambda: deployment_of(hand, app)["spec"]["replicas"] == 1
    hand.delete("v1", "ConfigMap", NAMESPACE, f"{app}-config-0", propagation="Background")
    return lambda: hand.get("v1", "ConfigMap", NAMESPACE, f"{app}-config-0") is not None


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="drift-heal-"))
    ok = False
    try:
        with BenchSystem(workdir, workers=args.workers, concurrency=args.concurrency, watchers=1,
                         env={"RECONCILER_POLL_INTERVAL": str(args.poll_interval)}) as system:
            assert system.store is not None and system.kubesim is not None
            names = [f"drift-{i:03d}" for i in range(args.apps)]
            files: dict[str, str] = {"README.md": "drift bench\n"}
            for name in names:
                files.update(app_files(name))
            repo = system.make_repo("config", files)
            system.kubesim.create_namespace(NAMESPACE)
            register(system.store, [parse_application(application(n, repo), source_file=n) for n in names])
            system.wait_for(lambda: synced_and_healthy(system.store, names) == (len(names), len(names)),
                            args.timeout, "every app Synced and Healthy")
            system.wait_for(system.watcher_live, 120, "the watcher to list the cluster")
            system.wait_for(system.queues_idle, 300, "the queues to drain")
            log(f"{len(names)} apps Synced and Healthy; {args.trials} drifts")
            hand = Cluster.for_host(system.kubesim.url, field_manager="kubectl-edit")
            seconds: dict[str, list[float]] = {k: [] for k in DRIFTS}
            for trial in range(args.trials):
                kind = DRIFTS[trial % len(DRIFTS)]
                app = names[trial % len(names)]
                started = time.monotonic()
                healed = drift(hand, app, kind)
                system.wait_for(healed, args.poll_interval + 60, f"{kind} drift of {app} healed", every=0.05)
                seconds[kind].append(time.monotonic() - started)
                system.wait_for(system.queues_idle, 120, "the queues to drain")
                time.sleep(args.pause)
            every = [s for v in seconds.values() for s in v]
            result = {
                "apps": len(names), "trials": args.trials, "poll_interval_seconds": args.poll_interval,
                "workers": args.workers, "worker_concurrency": args.concurrency, "cpu_cores": os.cpu_count(),
                "healed_p50_seconds": round(percentile(every, 0.5), 2),
                "healed_p95_seconds": round(percentile(every, 0.95), 2),
                "healed_max_seconds": round(max(every), 2),
                "by_drift": {k: {"p50": round(percentile(v, 0.5), 2), "p95": round(percentile(v, 0.95), 2),
                                 "n": len(v)} for k, v in seconds.items() if v},
                "watcher_rss_mb": system.watcher_rss_mb(),
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
        ok = True
        return result
    finally:
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"logs and data kept in {workdir}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--poll-interval", type=float, default=180.0, help="RECONCILER_POLL_INTERVAL")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between trials")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.apps < 1 or args.trials < 1:
        parser.error("--apps and --trials must be at least 1")
    with sigterm_as_interrupt():
        try:
            print(json.dumps(run(args)), flush=True)
        except KeyboardInterrupt:
            log("interrupted; every process it started is stopped")
            return 130
        except (TimeoutError, RuntimeError) as exc:
            log(f"failed: {exc}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
