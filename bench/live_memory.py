"""Memory of the live state at a given number of objects (default 100,000): the watcher's
in-memory graph (reconciler/live/graph.py) and the Redis index it writes.

Builds the objects a real cluster would hold for `--objects / 10` apps of 10 resources each
(ConfigMaps, Services, Deployments with tracking label and annotation) plus, under each
Deployment, a ReplicaSet and a Pod found through ownerReferences (`--pods-per-deployment`),
feeds them to a Graph as a watcher's first LIST would, writes its index to a private
redis-server, and reports Python heap growth (tracemalloc), process RSS growth and Redis's
used_memory. Prints one JSON object.

    .venv/bin/python bench/live_memory.py [--objects 100000]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconciler.live.graph import Graph
from reconciler.live.records import cluster_id
from reconciler.model.resources import TRACKING_ANNOTATION, TRACKING_LABEL
from reconciler.state import Store
from reconciler.state.redis_server import RedisProcess


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def meta(app: str, group: str, kind: str, name: str, owners: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "namespace": "bench", "uid": str(uuid.uuid4()), "resourceVersion": "1",
                         "creationTimestamp": "2026-01-01T00:00:00Z"}
    if owners:
        m["ownerReferences"] = owners
    else:
        m["labels"] = {TRACKING_LABEL: app}
        m["annotations"] = {TRACKING_ANNOTATION: f"{app}:{group}/{kind}:bench/{name}"}
    return m


def objects_of(app: str, pods: int) -> list[tuple[dict[str, Any], str]]:
    out: list[tuple[dict[str, Any], str]] = []
    for k in range(5):
        out.append(({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(app, "", "ConfigMap", f"{app}-c{k}"),
                     "data": {"index": str(k), "settings.yaml": "level: info\nreplicas: 1\n"}}, "/ConfigMap"))
    for k in range(3):
        out.append(({"apiVersion": "v1", "kind": "Service", "metadata": meta(app, "", "Service", f"{app}-s{k}"),
                     "spec": {"selector": {"app": app}, "ports": [{"port": 80 + k, "targetPort": 8080}]}},
                    "/Service"))
    for k in range(2):
        name = f"{app}-web-{k}"
        dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(app, "apps", "Deployment", name),
               "spec": {"replicas": pods, "selector": {"matchLabels": {"app": name}}, "template": {
                   "metadata": {"labels": {"app": name}},
                   "spec": {"containers": [{"name": "web", "image": "registry.example.com/web:1.0"}]}}},
               "status": {"observedGeneration": 1, "replicas": pods, "updatedReplicas": pods,
                          "readyReplicas": pods, "availableReplicas": pods}}
        out.append((dep, "apps/Deployment"))
        if pods:
            owner = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": dep["metadata"]["uid"]}]
            rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta(app, "", "", f"{name}-1", owner),
                  "spec": {"replicas": pods}, "status": {"readyReplicas": pods, "replicas": pods}}
            out.append((rs, "apps/ReplicaSet"))
            rs_owner = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{name}-1",
                         "uid": rs["metadata"]["uid"]}]
            for p in range(pods):
                pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta(app, "", "", f"{name}-1-{p}", rs_owner),
                       "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
                out.append((pod, "/Pod"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=100_000, help="tracked objects (10 per app)")
    parser.add_argument("--pods-per-deployment", type=int, default=0,
                        help="also a ReplicaSet and this many Pods under each Deployment")
    args = parser.parse_args()
    apps = max(1, args.objects // 10)
    graph = Graph(cluster_id("https://bench.example"))
    gc.collect()
    rss_before = rss_mb()
    tracemalloc.start()
    started = time.process_time()
    kept = 0
    for i in range(apps):
        for obj, kind_key in objects_of(f"app-{i:05d}", args.pods_per_deployment):
            graph.upsert(obj, kind_key)
            kept += 1
        if i % 100 == 99:
            graph.take()  # as the processor's flushes do; the writes are measured below
    cpu = time.process_time() - started
    heap, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    graph_rss = rss_mb() - rss_before
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisProcess(Path(tmp)).start()
        try:
            store = Store.from_url(redis.url)
            base = int(store.r.info("memory")["used_memory"])
            token = store.acquire_watch_lease(graph.cluster, "bench", 600)
            assert token
            fresh = Graph(graph.cluster)
            ops: list[tuple[str, ...]] = []
            for i in range(apps):
                for obj, kind_key in objects_of(f"app-{i:05d}", args.pods_per_deployment):
                    fresh.upsert(obj, kind_key)
                ops += fresh.take()[0]
                if len(ops) > 5000:
                    store.write_live(graph.cluster, token, ops)
                    ops = []
            store.write_live(graph.cluster, token, ops)
            redis_mb = (int(store.r.info("memory")["used_memory"]) - base) / 2**20
            store.r.close()
        finally:
            redis.stop()
    print(json.dumps({
        "objects": kept,
        "tracked_objects": apps * 10,
        "apps": apps,
        "graph_python_heap_mb": round(heap / 2**20, 1),
        "graph_rss_growth_mb": round(graph_rss, 1),
        "redis_index_mb": round(redis_mb, 1),
        "bytes_per_object_graph": round(heap / kept),
        "bytes_per_object_redis": round(redis_mb * 2**20 / kept),
        "cpu_seconds_to_index": round(cpu, 2),
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
