"""The whole system on a Sentinel-managed Redis whose primary is SIGKILLed again and again.

Three redis-servers and three Sentinels (reconciler/state/sentinel_group.py), two workers,
beat, the watcher and the API as real `reconciler` processes, all configured only through
RECONCILER_REDIS_SENTINELS / _MASTER / _PASSWORD / _SENTINEL_PASSWORD. Commits keep landing
for 20 automated apps, each announced by a signed webhook, while the primary is killed.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.control import user_actions as actions
from reconciler.engine.cluster import Cluster
from reconciler.model import parse_manifests
from reconciler.settings import Settings
from reconciler.state import Store
from reconciler.state.connection import redis_endpoint
from reconciler.state.redis_server import free_port
from reconciler.state.sealing import Sealer
from reconciler.state.sentinel_group import SentinelGroup
from tests.conftest import GitRepo

APPS = [f"ha-{i:02d}" for i in range(20)]
KILLS = 3
WEBHOOK_SECRET = secrets.token_hex(16)
ADMIN_TOKEN = secrets.token_hex(16)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
OPERATION_AGENT = re.compile(r"\(operation ([0-9a-f-]+)\)")


class Processes:
    """`reconciler` subprocesses, each in its own process group (a prefork pool goes with it)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> None:
        with open(self.log_dir / f"{name}.log", "wb") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "reconciler.cli", *args], env=self.env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited with {proc.returncode}; see {self.log_dir / name}.log"

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def app_manifest(repo: GitRepo, name: str) -> str:
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        f"metadata:\n  name: {name}\n  namespace: argocd\n"
        f"spec:\n  project: default\n  source:\n    repoURL: {repo.url}\n    targetRevision: HEAD\n    path: {name}\n"
        "  destination:\n    server: https://kubernetes.default.svc\n    namespace: default\n"
        "  syncPolicy:\n    automated: {}\n"
        "  revisionHistoryLimit: 100\n"  # every sync of the test stays listed (Argo CD keeps 10)
    )


def config_files(round_number: int) -> dict[str, str]:
    return {
        f"{app}/cm.yaml": (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {app}\ndata:\n  round: \"{round_number}\"\n"
        )
        for app in APPS
    }


def send_webhook(port: int, repo: GitRepo) -> int:
    body = json.dumps({"repository": repo.url, "ref": "refs/heads/main", "after": repo.head()}).encode()
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/webhook", data=body, method="POST",
        headers={"Content-Type": "application/json", "X-Signature": signature, "X-Reconciler-Event": "push"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def api_get(port: int, path: str) -> Any:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # Redis failing over under the test's own client
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class SuccessWatcher:
    """Records every sync operation the system reports Succeeded, as a user polling it would."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: set[tuple[str, str]] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                for app, state in self.store.operation_states(APPS).items():
                    if state and state.get("phase") == "Succeeded":
                        self.seen.add((app, str(state["id"])))
            except Exception:  # mid-failover: look again
                pass
            self.stop.wait(0.2)


@pytest.fixture
def sentinel_group(tmp_path: Path) -> Iterator[SentinelGroup]:
    with SentinelGroup(tmp_path / "redis") as group:
        yield group


def overlapping_syncs(entries: list[dict[str, Any]]) -> list[str]:
    """Pairs of operations whose cluster writes for one app interleave, from the request log."""
    spans: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for entry in entries:
        match = OPERATION_AGENT.search(entry.get("userAgent") or "")
        if not match or entry["method"] not in WRITE_METHODS or "dryRun" in entry["query"]:
            continue
        app = next((a for a in APPS if entry["path"].endswith(f"/{a}")), None)
        if app is None:
            continue
        span = spans[app].setdefault(match.group(1), [entry["time"], entry["time"]])
        span[0], span[1] = min(span[0], entry["time"]), max(span[1], entry["time"])
    problems = []
    for app, ops in spans.items():
        ordered = sorted(ops.items(), key=lambda item: item[1][0])
        for (first, (_, first_end)), (second, (second_start, _)) in itertools.pairwise(ordered):
            if second_start < first_end:
                problems.append(f"{app}: {second} wrote at {second_start:.3f} before {first} had finished "
                                f"(its last write at {first_end:.3f})")
    return problems


def timeline(entries: list[dict[str, Any]], overlaps: list[str]) -> list[str]:
    """The requests about the apps in `overlaps` (their ConfigMap and their fence's Lease), for
    the failure message: when, what, the answer, which operation."""
    apps = {problem.split(":", 1)[0] for problem in overlaps}
    lines = []
    for entry in entries:
        name = entry["path"].rsplit("/", 1)[-1]
        if name not in apps and name.removeprefix("reconciler-sync-") not in apps:
            continue
        match = OPERATION_AGENT.search(entry.get("userAgent") or "")
        lines.append(f"{entry['time']:.3f} {entry['method']} {entry['path']}?{entry['query']} {entry['status']} "
                     f"{match.group(1) if match else '-'}")
    return lines


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_every_app_converges_with_nothing_lost_while_the_redis_primary_is_killed_again_and_again(
    sentinel_group: SentinelGroup, kubesim: Any, kubeconfig: Path, tmp_path: Path,
    git_repo_factory: Callable[..., GitRepo],
) -> None:
    repo = git_repo_factory(config_files(0), name="ha-config")
    api_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        **sentinel_group.environment(),
        "KUBECONFIG": str(kubeconfig),
        "RECONCILER_DATA_DIR": str(tmp_path / "data"),
        "RECONCILER_ENCRYPTION_KEY": secrets.token_hex(24),
        "RECONCILER_TASK_TIME_LIMIT": "4",  # lock TTL 13.5 s: a lost task is resumed within seconds
        "RECONCILER_GIT_REF_CACHE_TTL": "0.2",
        "RECONCILER_POLL_INTERVAL": "5",
        "RECONCILER_SYNC_WAVE_DELAY": "0.05",
        "RECONCILER_WEBHOOK_GENERIC_SECRET": WEBHOOK_SECRET,
        "RECONCILER_API_TOKENS": f"admin:{ADMIN_TOKEN}",
        "PYTHONUNBUFFERED": "1",
    }
    settings = Settings.from_env(env)
    store = Store.connect(redis_endpoint(settings), Sealer(settings.encryption_key))
    manifests = parse_manifests("---\n".join(app_manifest(repo, a) for a in APPS), source_file="apps.yaml")
    actions.create(store, manifests, owner="api")
    processes = Processes(env, tmp_path)
    for i in range(2):
        processes.start(f"worker{i}", "worker", "--concurrency", "2", "--loglevel", "INFO")
    processes.start("beat", "beat", "--loglevel", "INFO")
    processes.start("watch", "watch", "--loglevel", "INFO")
    processes.start("api", "api", "--port", str(api_port), "--host", "127.0.0.1")
    successes = SuccessWatcher(store)
    successes.thread.start()
    cluster = Cluster.for_host(kubesim.url)

    def converged(round_number: int) -> bool:
        values = [(cluster.get("v1", "ConfigMap", "default", app) or {}).get("data") for app in APPS]
        return all(value == {"round": str(round_number)} for value in values)

    try:
        wait_for(lambda: converged(0), 120, "the first sync of every app")
        webhook_answers: list[int] = []
        round_number = 0
        for _kill in range(KILLS):
            for _ in range(2):  # commits land before and right after the kill
                round_number += 1
                repo.commit(config_files(round_number))
                webhook_answers.append(send_webhook(api_port, repo))
                time.sleep(1.5)
            sentinel_group.kill_primary()
            round_number += 1
            repo.commit(config_files(round_number))  # announced while the new primary settles
            webhook_answers.append(send_webhook(api_port, repo))
            processes.check_alive()
            sentinel_group.wait_until_replicated()
            time.sleep(2)
        round_number += 1
        repo.commit(config_files(round_number))
        webhook_answers.append(send_webhook(api_port, repo))

        wait_for(lambda: converged(round_number), 180, f"every app to converge to round {round_number}")
        head = repo.head()
        wait_for(
            lambda: all(
                (store.status(a) or {}).get("sync") == {**(store.status(a) or {}).get("sync", {}), "status": "Synced",
                                                        "revision": head}
                and (store.operation_state(a) or {}).get("phase") not in ("Running", None)
                for a in APPS
            ),
            120, "every app Synced at the last commit and its operation ended",
        )
        processes.check_alive()
        successes.stop.set()
        successes.thread.join(5)

        assert webhook_answers == [202] * len(webhook_answers)  # none lost to a failover
        states = store.operation_states(APPS)
        assert [a for a, s in states.items() if (s or {}).get("phase") == "Running"] == []
        # Through the API too: it rode the failovers on the same Sentinel settings.
        listed = {item["name"]: item for item in api_get(api_port, "/api/v1/applications")}
        assert sorted(listed) == APPS
        assert {(item["sync"], item["revision"], item["syncedRevision"]) for item in listed.values()} == {
            ("Synced", head, head)
        }
        # History lists every sync that reported success, each once.
        for app in APPS:
            recorded = [entry.get("operation") for entry in store.history(app)]
            assert len(recorded) == len(set(recorded)), f"{app}: a sync recorded twice: {recorded}"
            missing = {op for seen_app, op in successes.seen if seen_app == app} - set(recorded)
            assert not missing, f"{app}: syncs reported Succeeded but absent from history: {missing}"
        # No two syncs of one app wrote to the cluster at the same time.
        entries = kubesim.api.requests()
        overlaps = overlapping_syncs(entries)
        assert overlaps == [], "\n".join([*overlaps, *timeline(entries, overlaps)])
    finally:
        successes.stop.set()
        processes.stop()
        store.r.close()
