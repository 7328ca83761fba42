"""Live updates at 10,000 apps: time to the first page of the list API, and the delay from a
status write in Redis to the server-sent event at a client. Prints JSON.

    .venv/bin/python bench/live_updates.py [--apps 10000] [--pages 20] [--writes 50]

Its own Redis (a private redis-server) and the API in this process (uvicorn on loopback);
statuses are written directly to Redis, as a poll would.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconciler.api.server import create_app
from reconciler.services import Services
from reconciler.settings import Settings
from reconciler.state.redis_server import RedisProcess
from tests.conftest import serve_app

TOKEN = "bench-admin-token-0123456789"


def manifest(name: str) -> dict[str, object]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": name},
            "spec": {"project": "default", "source": {"repoURL": "https://git.example/org/cfg.git", "path": name,
                                                      "targetRevision": "HEAD"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": name}}}


def status(health: str) -> dict[str, object]:
    resources = [{"group": "apps", "kind": "Deployment", "namespace": "x", "name": f"d{i}", "status": "Synced",
                  "health": {"status": "Healthy", "message": ""}, "diff": "", "error": "", "message": ""}
                 for i in range(5)]
    return {"sync": {"status": "Synced", "revision": "a" * 40}, "health": {"status": health},
            "resources": resources, "conditions": []}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * p), len(ordered) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--writes", type=int, default=50)
    args = parser.parse_args()
    redis = RedisProcess(Path(tempfile.mkdtemp())).start()
    try:
        settings = dataclasses.replace(Settings.from_env(), api_tokens=(("admin", TOKEN),))
        services = Services.create(settings, redis.url)
        store = services.store
        with store.r.pipeline(transaction=False) as pipe:
            for i in range(args.apps):
                pipe.hset("rc:apps", f"app-{i:05d}", json.dumps(manifest(f"app-{i:05d}")))
            pipe.execute()
        for i in range(args.apps):
            store.write_status(f"app-{i:05d}", status("Healthy"))
        with serve_app(create_app(settings, services)) as url, httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60, trust_env=False) as http:
            pages = []
            for _ in range(args.pages):
                started = time.perf_counter()
                answer = http.get("/api/v1/applications", params={"limit": 100, "sort": "health"})
                answer.raise_for_status()
                pages.append(time.perf_counter() - started)
            delays = _event_delays(http, store, args.writes)
        print(json.dumps({
            "apps": args.apps,
            "first_page_seconds": {"p50": round(statistics.median(pages), 4), "max": round(max(pages), 4)},
            "status_write_to_event_seconds": {"p50": round(statistics.median(delays), 4),
                                              "p95": round(percentile(delays, 0.95), 4), "n": len(delays)},
        }, indent=2))
    finally:
        redis.stop()


def _event_delays(http: httpx.Client, store: object, writes: int) -> list[float]:
    received: dict[str, float] = {}
    opened = threading.Event()
    done = threading.Event()

    def listen() -> None:
        with http.stream("GET", "/api/v1/stream/applications") as stream:
            for line in stream.iter_lines():
                if line.startswith(": subscribed"):
                    opened.set()
                elif line.startswith("data:"):
                    data = json.loads(line[5:])
                    if data.get("type") == "status":
                        received[data["app"]] = time.perf_counter()
                        if len(received) >= writes:
                            done.set()
                            return

    threading.Thread(target=listen, daemon=True).start()
    opened.wait(10)
    sent: dict[str, float] = {}
    for i in range(writes):
        name = f"app-{i:05d}"
        sent[name] = time.perf_counter()
        store.write_status(name, status("Degraded"))  # type: ignore[attr-defined]
        time.sleep(0.02)
    done.wait(30)
    return [received[n] - sent[n] for n in sent if n in received]


if __name__ == "__main__":
    main()
