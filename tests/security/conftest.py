"""A real `reconciler up` (embedded Redis, worker, beat, API subprocesses) on a kubesim, shared by
the attacks of one module: each attack goes through the public surface only (REST, webhook, a
Git repository a root app reads), as an attacker would."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from kubesim.kubeconfig import write_kubeconfig
from reconciler.settings import Settings
from reconciler.state.embedded_redis import stop_embedded_redis
from reconciler.state.redis_server import free_port
from tests.conftest import GitRepo


class LoopbackService:
    """A TCP service on a loopback port: it says `answer` to each connection (a Redis's banner, an
    SSH daemon's, an HTTP error page) and closes it, or with no answer holds it and never speaks.
    Counts the connections it accepted."""

    def __init__(self, answer: bytes | None = None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.answer = answer
        self.connections = 0
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            if self.answer is None:
                self._held.append(conn)
                continue
            try:
                conn.settimeout(2)
                conn.sendall(self.answer)
                conn.recv(65536)
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self.listener.close()
        for conn in self._held:
            conn.close()


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Up:
    url: str
    env: dict[str, str]
    data_dir: Path
    repos: Path  # the one directory under RECONCILER_LOCAL_REPO_ROOTS
    output: list[str]

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, trust_env=False)

    def create(self, manifest: str) -> httpx.Response:
        with self.http() as http:
            return http.post("/api/v1/applications", content=manifest, headers={"Content-Type": "application/yaml"})

    def app(self, name: str) -> dict[str, Any]:
        with self.http() as http:
            response = http.get(f"/api/v1/applications/{name}")
        return dict(response.json()) if response.status_code == 200 else {}

    def repo(self, name: str, files: dict[str, str]) -> GitRepo:
        path = self.repos / name
        path.mkdir(parents=True)
        repo = GitRepo(path)
        repo.git("init", "-q", "-b", "main")
        repo.commit(files, message="initial")
        return repo

    def redis(self) -> redis.Redis:
        redis_dir = self.data_dir / "redis"
        port = int((redis_dir / "redis.port").read_text())
        # (No password file: a Redis without one, as before issue 10; test_9 fails on that alone.)
        password_file = redis_dir / "password"
        password = password_file.read_text().strip() if password_file.exists() else None
        return redis.Redis(host="127.0.0.1", port=port, password=password, decode_responses=True)

    def redis_dump(self) -> str:
        """Every key and value in the system's Redis, as text (what a reader of Redis sees)."""
        client = self.redis()
        parts = []
        for key in client.scan_iter(count=1000):
            kind = client.type(key)
            if kind == "string":
                parts.append(f"{key}={client.get(key)}")
            elif kind == "hash":
                parts.append(f"{key}={json.dumps(client.hgetall(key))}")
            elif kind == "list":
                parts.append(f"{key}={json.dumps(client.lrange(key, 0, -1))}")
            elif kind == "set":
                parts.append(f"{key}={json.dumps(sorted(client.smembers(key)))}")
            elif kind == "zset":
                parts.append(f"{key}={json.dumps(client.zrange(key, 0, -1))}")
        client.close()
        return "\n".join(parts)


def said(response: httpx.Response) -> str:
    """The error and problems of an API answer, as one text."""
    body = response.json()
    return " ".join([str(body.get("error", "")), *map(str, body.get("problems", []))])


def text_of(value: Any) -> str:
    """Every string in a JSON value, joined: what a person reading the answer sees."""
    if isinstance(value, dict):
        return " ".join(f"{k} {text_of(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(text_of(v) for v in value)
    return str(value)


def application(name: str, repo_url: str, path: str = ".", automated: bool = True, revision: str = "main") -> str:
    policy = "  syncPolicy:\n    automated: {prune: true, selfHeal: true}\n    syncOptions: [CreateNamespace=true]\n"
    policy = policy if automated else ""
    return (
        f"apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: {name}, namespace: argocd}}\n"
        f"spec:\n  project: default\n"
        f"  source: {{repoURL: {json.dumps(repo_url)}, targetRevision: {json.dumps(revision)}, path: {path}}}\n"
        f"  destination: {{server: https://kubernetes.default.svc, namespace: {name}}}\n{policy}"
    )


def base_env(tmp: Path, kubeconfig: Path) -> dict[str, str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "RECONCILER_DATA_DIR": str(tmp / "data"),
           "RECONCILER_GIT_REF_CACHE_TTL": "0.5", "RECONCILER_LOCAL_REPO_ROOTS": str(tmp / "repos")}
    for name in ("REDIS_URL", "RECONCILER_SERVER", "RECONCILER_API_TOKENS", "RECONCILER_API_AUTH",
                 "RECONCILER_ENCRYPTION_KEY", "RECONCILER_TRUSTED_PROXIES"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def module_kubesim() -> Iterator[Any]:
    from kubesim import KubeSim

    with KubeSim() as sim:
        yield sim


@contextlib.contextmanager
def running_up(tmp: Path, kubesim_url: str, extra_env: dict[str, str] | None = None) -> Iterator[Up]:
    """`reconciler up` with no token (auth none on 127.0.0.1), local repositories allowed under
    one directory only, `extra_env` on top."""
    (tmp / "repos").mkdir()
    env = {**base_env(tmp, write_kubeconfig(tmp / "kubeconfig", kubesim_url)), **(extra_env or {})}
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "up", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    system = Up(url=f"http://127.0.0.1:{port}", env=env, data_dir=tmp / "data", repos=tmp / "repos", output=[])
    try:
        # A deadline a loaded machine meets (five test sessions on two cores took more than 60 s).
        wait_for(lambda: proc.poll() is not None or answers(f"{system.url}/readyz"), 180, "`reconciler up`")
        assert proc.poll() is None, proc.communicate()[0]
        yield system
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            system.output.append(proc.communicate(timeout=60)[0])
        except subprocess.TimeoutExpired:
            proc.kill()
        stop_embedded_redis(Settings.from_env(env))


@pytest.fixture(scope="module")
def up(module_kubesim: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """`reconciler up` with no token (auth none on 127.0.0.1), local repositories allowed under
    one directory only."""
    with running_up(tmp_path_factory.mktemp("up"), module_kubesim.url) as system:
        yield system
