"""Requests per second kubesim serves to one keep-alive client.

Starts `python -m kubesim` as a subprocess (so the client's CPU time is not the
server's), then times N GETs of one ConfigMap, M server-side applies of a
ConfigMap whose data changes every time (each apply is a real write), and K merge patches of a
Deployment under `fieldValidation=Strict` (each walks the whole Deployment against its schema,
then defaults and validates it). Prints JSON: {"get_per_second", "apply_per_second",
"strict_patch_per_second", "p50_ms", "p95_ms", ...}; latencies are over all timed requests,
with per-verb figures alongside.

    .venv/bin/python bench/kubesim_requests.py [--gets 5000] [--applies 3000] [--patches 2000] [--watches 0]

--watches N first opens N watch streams on ConfigMaps (each a connection of its own, as N
informers would), so the figures show whether open watches starve other requests; every
timed apply is then delivered to all N of them ("watch_events_delivered").
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPLY_PATH = "/api/v1/namespaces/default/configmaps/bench?fieldManager=bench&force=true"
GET_PATH = "/api/v1/namespaces/default/configmaps/bench"
DEPLOYMENT_PATH = "/apis/apps/v1/namespaces/default/deployments"
PATCH_PATH = f"{DEPLOYMENT_PATH}/bench?fieldValidation=Strict"
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench", "labels": {"app": "bench"}},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "bench"}},
             "template": {"metadata": {"labels": {"app": "bench"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx:1.25",
                                                   "ports": [{"containerPort": 80}],
                                                   "env": [{"name": "MODE", "value": "fast"}],
                                                   "resources": {"limits": {"cpu": "100m"}}}]}}},
}


def start_server() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-m", "kubesim", "--port", "0"], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"kubesim did not start (exit status {proc.wait()})")
    return proc, int(line.strip().rsplit(":", 1)[-1])


def timed(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None,
          headers: dict[str, str], expect: tuple[int, ...]) -> float:
    started = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    elapsed = time.perf_counter() - started
    if response.status not in expect:
        raise SystemExit(f"{method} {path} answered {response.status}: {payload[:300]!r}")
    return elapsed


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def open_watches(port: int, count: int, plural: str) -> list[socket.socket]:
    """`count` raw watch connections, each past its response headers (so the stream is registered)."""
    request = (f"GET /api/v1/namespaces/default/{plural}?watch=true&resourceVersion=1 HTTP/1.1\r\n"
               f"Host: bench\r\n\r\n").encode()
    watches = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        sock.setblocking(False)
        watches.append(sock)
    return watches


def drain(watches: list[socket.socket]) -> int:
    """Bytes the watch streams delivered (read so the server never blocks on a full socket buffer)."""
    total = 0
    for sock in watches:
        try:
            while chunk := sock.recv(65536):
                total += len(chunk)
        except BlockingIOError:
            pass
    return total


def run(gets: int, applies: int, patches: int = 2000, watch_count: int = 0,
        watch_plural: str = "configmaps") -> dict[str, float]:
    proc, port = start_server()
    watches: list[socket.socket] = []
    delivered = 0
    try:
        watches = open_watches(port, watch_count, watch_plural)
        conn = http.client.HTTPConnection("127.0.0.1", port)
        apply_headers = {"Content-Type": "application/apply-patch+yaml"}

        def apply_body(i: int) -> bytes:
            return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bench"},
                               "data": {"counter": str(i), "static": "value"}}).encode()

        timed(conn, "PATCH", APPLY_PATH, apply_body(-1), apply_headers, (200, 201))
        for _ in range(200):  # warm-up: imports, caches
            timed(conn, "GET", GET_PATH, None, {}, (200,))

        started = time.perf_counter()
        get_samples = [timed(conn, "GET", GET_PATH, None, {}, (200,)) for _ in range(gets)]
        get_wall = time.perf_counter() - started

        started = time.perf_counter()
        apply_samples = []
        for i in range(applies):
            apply_samples.append(timed(conn, "PATCH", APPLY_PATH, apply_body(i), apply_headers, (200,)))
            if watches and i % 50 == 0:
                delivered += drain(watches)
        apply_wall = time.perf_counter() - started

        json_headers = {"Content-Type": "application/json"}
        patch_headers = {"Content-Type": "application/merge-patch+json"}
        timed(conn, "POST", f"{DEPLOYMENT_PATH}?fieldValidation=Strict", json.dumps(DEPLOYMENT).encode(),
              json_headers, (201,))
        started = time.perf_counter()
        patch_samples = [timed(conn, "PATCH", PATCH_PATH,
                               json.dumps({"metadata": {"annotations": {"counter": str(i)}}}).encode(),
                               patch_headers, (200,)) for i in range(patches)]
        patch_wall = time.perf_counter() - started
        conn.close()
        time.sleep(0.5)
        delivered += drain(watches)
    finally:
        for sock in watches:
            sock.close()
        proc.terminate()
        proc.wait(timeout=10)
    everything = get_samples + apply_samples + patch_samples
    return {
        "get_per_second": round(gets / get_wall, 1),
        "apply_per_second": round(applies / apply_wall, 1),
        "strict_patch_per_second": round(patches / patch_wall, 1),
        "p50_ms": round(percentile(everything, 0.50), 3),
        "p95_ms": round(percentile(everything, 0.95), 3),
        "get_p50_ms": round(percentile(get_samples, 0.50), 3),
        "get_p95_ms": round(percentile(get_samples, 0.95), 3),
        "apply_p50_ms": round(percentile(apply_samples, 0.50), 3),
        "apply_p95_ms": round(percentile(apply_samples, 0.95), 3),
        "apply_mean_ms": round(statistics.fmean(apply_samples) * 1000, 3),
        "strict_patch_p50_ms": round(percentile(patch_samples, 0.50), 3),
        "gets": gets,
        "applies": applies,
        "patches": patches,
        "watches": watch_count,
        "watched": watch_plural,
        "watch_bytes_delivered": delivered,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gets", type=int, default=5000)
    parser.add_argument("--applies", type=int, default=3000)
    parser.add_argument("--patches", type=int, default=2000)
    parser.add_argument("--watches", type=int, default=0, help="watch streams held open while timing")
    parser.add_argument("--watch-plural", default="configmaps",
                        help="what the watches watch: configmaps (every apply reaches them) or e.g. secrets (none)")
    args = parser.parse_args()
    print(json.dumps(run(args.gets, args.applies, args.patches, args.watches, args.watch_plural)))


if __name__ == "__main__":
    main()
